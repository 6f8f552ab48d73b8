# Mutant: differentiates with respect to the caller's x directly: right when x requires grad, raises "One of the
# differentiated Tensors does not require grad" when it does not.
import torch


def vjp(fn, x, v):
    with torch.enable_grad():
        y = fn(x)
    return torch.autograd.grad(y, x, grad_outputs=v)[0]
