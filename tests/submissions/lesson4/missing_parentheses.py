# Mutant: no parentheses around the comparisons: parsed as x >= (lo & x) < hi.
import torch


def masked_mean(x, lo, hi, dim):
    inside = x >= lo & x < hi
    return torch.where(inside, x, 0).sum(dim=dim) / inside.sum(dim=dim)
