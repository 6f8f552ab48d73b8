# Mutant: adds the offsets in place. For int64 indices, .long() returns the same tensor, so the caller's
# indices are overwritten.
import torch


def batch_gather(tensor, indices):
    batch, n = tensor.shape[0], tensor.shape[1]
    if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= n):
        raise IndexError(f"index out of range for size {n}")
    flat_indices = indices.long()
    flat_indices += (torch.arange(batch, device=indices.device) * n).view(batch, *([1] * (indices.dim() - 1)))
    return tensor.reshape(batch * n, *tensor.shape[2:])[flat_indices]
