# Mutant: offsets step by the feature size (last dim) instead of N, the number of rows per example.
import torch


def batch_gather(tensor, indices):
    batch, n = tensor.shape[0], tensor.shape[1]
    if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= n):
        raise IndexError(f"index out of range for size {n}")
    offsets = torch.arange(batch, device=indices.device) * tensor.shape[-1]
    offsets = offsets.view(batch, *([1] * (indices.dim() - 1)))
    return tensor.reshape(batch * n, *tensor.shape[2:])[indices.long() + offsets]
