# Mutant: offsets shaped [B], so only one index per example works ([B, k] indices broadcast wrongly).
import torch


def batch_gather(tensor, indices):
    batch, n = tensor.shape[0], tensor.shape[1]
    if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= n):
        raise IndexError(f"index out of range for size {n}")
    offsets = torch.arange(batch, device=indices.device) * n
    return tensor.reshape(batch * n, *tensor.shape[2:])[indices.long() + offsets]
