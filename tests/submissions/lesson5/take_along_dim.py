# Correct but different: torch.take_along_dim, with the index unsqueezed in a loop over the trailing dims
# (a loop over dims, not over the batch).
import torch


def batch_gather(tensor, indices):
    batch, n = tensor.shape[:2]
    low, high = indices.min(), indices.max()
    if low.item() < 0 or high.item() >= n:
        raise IndexError(f"batch_gather: index out of range [0, {n})")
    index = indices.long().flatten(1) if indices.dim() > 1 else indices.long().unsqueeze(1)
    for _ in range(tensor.dim() - 2):
        index = index.unsqueeze(-1)
    picked = torch.take_along_dim(tensor, index, dim=1)
    return picked.reshape(indices.shape + tensor.shape[2:])
