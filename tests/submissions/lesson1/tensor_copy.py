# Mutant: the notes' torch.tensor(tensor, requires_grad=True) to make the leaf: right values, but PyTorch warns
# that it copy-constructs, and the copy is cut from x's graph.
import torch


def vjp(fn, x, v):
    leaf = torch.tensor(x, requires_grad=True)
    with torch.enable_grad():
        y = fn(leaf)
    return torch.autograd.grad(y, leaf, grad_outputs=v)[0]
