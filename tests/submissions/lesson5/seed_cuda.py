# Mutant: the notes' vectorized version, offsets hard-coded onto the GPU with .cuda().
import torch


def batch_gather(tensor, indices):
    dims = list(tensor.shape)
    flat = torch.reshape(tensor, [dims[0] * dims[1]] + dims[2:])
    offsets = torch.arange(dims[0]).cuda() * dims[1]
    offsets = torch.reshape(offsets, [dims[0]] + [1] * (indices.dim() - 1))
    return flat[indices + offsets]
