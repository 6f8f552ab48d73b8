# Correct but different: an nn.Linear(degree, 1) on the scaled powers x^degree..x^1, its bias the constant
# term, trained with Adam on module.parameters(); y scaled by max|y| and x by max|x|, float64 inside.
import torch
from torch import nn


def fit_polynomial(x, y, degree, steps=500, lr=0.1):
    dtype = x.dtype
    x, y = x.double(), y.double()
    sx, sy = x.abs().max(), y.abs().max()
    powers = torch.arange(degree, 0, -1, device=x.device)
    features = (x / sx).unsqueeze(1) ** powers
    layer = nn.Linear(degree, 1).to(device=x.device, dtype=torch.float64)
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    optimizer = torch.optim.Adam(layer.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(layer(features).squeeze(1), y / sy)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        weights = layer.weight[0] * sy / sx ** powers
        constant = layer.bias * sy
    return torch.cat([weights, constant]).to(dtype)
