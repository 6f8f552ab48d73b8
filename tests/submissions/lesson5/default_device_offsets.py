# Mutant: the .cuda() removed but no device given: the offsets stay on the CPU when the inputs are on a GPU.
import torch


def batch_gather(tensor, indices):
    batch, n = tensor.shape[0], tensor.shape[1]
    if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= n):
        raise IndexError(f"index out of range for size {n}")
    offsets = (torch.arange(batch) * n).view(batch, *([1] * (indices.dim() - 1)))
    return tensor.reshape(batch * n, *tensor.shape[2:])[indices.long() + offsets]
