# Mutant: differentiates fn(x).sum(): that is the product with v = ones, v is ignored.
import torch


def vjp(fn, x, v):
    leaf = x.detach().requires_grad_(True)
    with torch.enable_grad():
        y = fn(leaf).sum()
    return torch.autograd.grad(y, leaf)[0]
