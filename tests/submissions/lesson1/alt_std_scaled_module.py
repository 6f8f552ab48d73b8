# Correct but different: x divided by its standard deviation and y by its root-mean-square, coefficients kept
# lowest power first in an nn.Parameter (small random start), the polynomial evaluated by Horner's rule, the
# result flipped to highest power first.
import torch
from torch import nn


def fit_polynomial(x, y, degree, steps=500, lr=0.1):
    sx = x.std() if len(x) > 1 and x.std() > 0 else torch.ones((), dtype=x.dtype, device=x.device)
    sy = y.square().mean().sqrt().clamp_min(1e-12)
    t, u = x / sx, y / sy
    ascending = nn.Parameter(0.1 * torch.randn(degree + 1, dtype=x.dtype, device=x.device))
    optimizer = torch.optim.Adam([ascending], lr=lr)
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        prediction = torch.zeros_like(t)
        for c in ascending.flip(0):
            prediction = prediction * t + c
        ((prediction - u) ** 2).mean().backward()
        optimizer.step()
    powers = torch.arange(degree + 1, device=x.device)
    return (ascending.detach() * sy / sx ** powers).flip(0)
