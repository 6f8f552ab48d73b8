# Mutant: the notes' first version, one slice and one in-place add per row (x's dtype and device kept).
import torch


def row_sum(x):
    z = torch.zeros(x.shape[1:], dtype=x.dtype, device=x.device)
    for i in range(x.shape[0]):
        z += x[i]
    return z
