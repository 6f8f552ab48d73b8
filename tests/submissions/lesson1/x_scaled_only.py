# Mutant: scales x but not y: on the notes' data the coefficient of t^2 is 500, and Adam at lr 0.1 moves it by
# about 0.1 per step, so 500 steps cannot get there.
import torch
import torch.nn.functional as F


def fit_polynomial(x, y, degree, steps=500, lr=0.1):
    powers = torch.arange(degree, -1, -1, device=x.device)
    x_scale = x.abs().max()
    features = (x / x_scale).unsqueeze(1) ** powers
    w = torch.zeros(degree + 1, dtype=x.dtype, device=x.device, requires_grad=True)
    opt = torch.optim.Adam([w], lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        F.mse_loss(features @ w, y).backward()
        opt.step()
    return w.detach() / x_scale ** powers
