# Mutant: calls the oracle itself. Right values, but the exercise is to build the product with autograd, and
# for an x that requires grad torch.func.vjp's result is attached to a graph.
import torch


def vjp(fn, x, v):
    _, pullback = torch.func.vjp(fn, x)
    return pullback(v)[0]
