# Mutant: the notes' second version, a loop over torch.unbind(x). Correct, slow: only the speed check fails.
import torch


def row_sum(x):
    z = torch.zeros(x.shape[1:], dtype=x.dtype, device=x.device)
    for row in torch.unbind(x):
        z += row
    return z
