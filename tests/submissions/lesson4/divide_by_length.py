# Mutant: the mean of the masked tensor, i.e. divided by the slice length instead of the count in range.
import torch


def masked_mean(x, lo, hi, dim):
    inside = (x >= lo) & (x < hi)
    return torch.where(inside, x, 0).mean(dim=dim)
