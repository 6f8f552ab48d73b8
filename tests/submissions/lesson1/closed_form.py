# Mutant: least squares in closed form (right values, no Adam, no autograd).
import torch


def fit_polynomial(x, y, degree, steps=500, lr=0.1):
    features = x.unsqueeze(1) ** torch.arange(degree, -1, -1, device=x.device)
    return torch.linalg.lstsq(features, y.unsqueeze(1)).solution.squeeze(1)
