# Mutant: create_graph=True: right values, but the result stays attached to fn's graph (requires grad).
import torch


def vjp(fn, x, v):
    leaf = x.detach().requires_grad_(True)
    with torch.enable_grad():
        y = fn(leaf)
    return torch.autograd.grad(y, leaf, grad_outputs=v, create_graph=True)[0]
