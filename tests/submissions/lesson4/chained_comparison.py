# Mutant: a chained comparison, which Python expands to `(lo <= x) and (x < hi)`.
import torch


def masked_mean(x, lo, hi, dim):
    inside = lo <= x < hi
    return torch.where(inside, x, 0).sum(dim=dim) / inside.sum(dim=dim)
