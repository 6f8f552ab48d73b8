# Mutant: torch.autograd.grad without grad_outputs: right for a scalar fn(x) with v = 1, raises "grad can be
# implicitly created only for scalar outputs" for every other output.
import torch


def vjp(fn, x, v):
    leaf = x.detach().requires_grad_(True)
    with torch.enable_grad():
        y = fn(leaf)
    return torch.autograd.grad(y, leaf)[0]
