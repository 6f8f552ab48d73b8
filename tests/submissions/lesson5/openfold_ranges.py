# Correct, OpenFold-style: indexes with a list of index objects [arange, indices, slice(None), ...].
import torch


def batch_gather(tensor, indices):
    if indices.numel() and (indices.min() < 0 or indices.max() >= tensor.shape[1]):
        raise IndexError(f"index out of range for dim 1 of size {tensor.shape[1]}")
    batch = tensor.shape[0]
    arange = torch.arange(batch, device=indices.device).view(batch, *([1] * (indices.dim() - 1)))
    ranges = [arange, indices.long()] + [slice(None)] * (tensor.dim() - 2)
    return tensor[ranges]
