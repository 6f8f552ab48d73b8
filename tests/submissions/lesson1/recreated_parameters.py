# Mutant: the parameters are re-created at the top of every step (a "fresh" random start), while Adam holds the
# first tensor: Adam never sees a gradient, and the fit returned is one random draw.
import torch
import torch.nn.functional as F


def fit_polynomial(x, y, degree, steps=500, lr=0.1):
    powers = torch.arange(degree, -1, -1, device=x.device)
    x_scale, y_scale = x.abs().max(), y.abs().max()
    features = (x / x_scale).unsqueeze(1) ** powers
    w = torch.randn(degree + 1, dtype=x.dtype, device=x.device, requires_grad=True)
    opt = torch.optim.Adam([w], lr=lr)
    for _ in range(steps):
        w = torch.randn(degree + 1, dtype=x.dtype, device=x.device, requires_grad=True)
        opt.zero_grad()
        loss = F.mse_loss(features @ w, y / y_scale)
        loss.backward()
        opt.step()
    return w.detach() * y_scale / x_scale ** powers
