# Mutant: parameters and optimizer both created inside the loop: every step starts again from zero, so the
# result is one Adam step from the start, whatever `steps` is.
import torch
import torch.nn.functional as F


def fit_polynomial(x, y, degree, steps=500, lr=0.1):
    powers = torch.arange(degree, -1, -1, device=x.device)
    x_scale, y_scale = x.abs().max(), y.abs().max()
    features = (x / x_scale).unsqueeze(1) ** powers
    for _ in range(steps):
        w = torch.zeros(degree + 1, dtype=x.dtype, device=x.device, requires_grad=True)
        opt = torch.optim.Adam([w], lr=lr)
        opt.zero_grad()
        F.mse_loss(features @ w, y / y_scale).backward()
        opt.step()
    return w.detach() * y_scale / x_scale ** powers
