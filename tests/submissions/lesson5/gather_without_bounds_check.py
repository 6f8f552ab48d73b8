# Mutant: torch.gather with no range check of its own: a bad index raises RuntimeError on the CPU
# (and a device-side assert on a GPU), never the IndexError the exercise asks for.
import torch


def batch_gather(tensor, indices):
    batch, rest = tensor.shape[0], tensor.shape[2:]
    index = indices.long().reshape(batch, -1, *([1] * len(rest))).expand(batch, -1, *rest)
    return torch.gather(tensor, 1, index).reshape(*indices.shape, *rest)
