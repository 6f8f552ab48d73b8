# Correct but different: torch.gather with an index expanded over the trailing dims.
import torch


def batch_gather(tensor, indices):
    batch, n, rest = tensor.shape[0], tensor.shape[1], tensor.shape[2:]
    if bool(((indices < 0) | (indices >= n)).any()):
        raise IndexError(f"batch_gather: indices must lie in [0, {n})")
    index = indices.to(torch.int64).reshape(batch, -1, *([1] * len(rest)))
    picked = torch.gather(tensor, 1, index.expand(-1, -1, *rest))
    return picked.view(*indices.shape, *rest)
