# Mutant: returns the trained coefficients still attached to autograd (requires_grad=True).
import torch
import torch.nn.functional as F


def fit_polynomial(x, y, degree, steps=500, lr=0.1):
    powers = torch.arange(degree, -1, -1, device=x.device)
    x_scale, y_scale = x.abs().max(), y.abs().max()
    features = (x / x_scale).unsqueeze(1) ** powers
    w = torch.zeros(degree + 1, dtype=x.dtype, device=x.device, requires_grad=True)
    opt = torch.optim.Adam([w], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        F.mse_loss(features @ w, y / y_scale).backward()
        opt.step()
    return w * y_scale / x_scale ** powers
