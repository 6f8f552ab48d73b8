# Mutant: the notes' first version, a Python loop over the batch. Right values, one small op per example.
import torch


def batch_gather(tensor, indices):
    picked = []
    for i in range(tensor.size(0)):
        picked.append(tensor[i][indices[i]])
    return torch.stack(picked)
