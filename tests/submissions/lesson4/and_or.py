# Mutant: Python's `and` between two masks (it cannot be overloaded: bool() of a many-valued tensor).
import torch


def masked_mean(x, lo, hi, dim):
    inside = (x >= lo) and (x < hi)
    return torch.where(inside, x, 0).sum(dim=dim) / inside.sum(dim=dim)
