# Mutant: torch.gather on a [B, N] tensor; trailing dims of the tensor are not supported.
import torch


def batch_gather(tensor, indices):
    batch, n = tensor.shape[0], tensor.shape[1]
    if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= n):
        raise IndexError(f"index out of range for size {n}")
    picked = torch.gather(tensor, 1, indices.long().reshape(batch, -1))
    return picked.reshape(indices.shape)
