# Mutant: the reference without torch.enable_grad(): called inside torch.no_grad(), fn(leaf) records no graph.
import torch


def vjp(fn, x, v):
    leaf = x.detach().requires_grad_(True)
    y = fn(leaf)
    return torch.autograd.grad(y, leaf, grad_outputs=v)[0]
