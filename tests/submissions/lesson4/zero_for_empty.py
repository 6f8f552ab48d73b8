# Mutant: the count clamped to 1, so a slice without entries in range gives 0 instead of nan.
import torch


def masked_mean(x, lo, hi, dim):
    inside = (x >= lo) & (x < hi)
    return torch.where(inside, x, 0).sum(dim=dim) / inside.sum(dim=dim).clamp(min=1)
