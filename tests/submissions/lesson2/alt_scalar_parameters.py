# Correct but different: 0-dim parameters registered intercept first (so parameters() lists b before a), zero
# initial values, torch.addcmul; make_mlp through add_module with names; predict saving and restoring the
# mode of every submodule, no_grad as a decorator.
from collections import OrderedDict

import torch
from torch import nn


class AffineNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_parameter("intercept", nn.Parameter(torch.zeros(())))
        self.slope = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return torch.addcmul(self.intercept.expand_as(x), self.slope, x)


def make_mlp(sizes):
    layers = OrderedDict()
    for i in range(len(sizes) - 1):
        if i > 0:
            layers[f"act{i}"] = nn.ReLU(inplace=True)
        layers[f"fc{i + 1}"] = nn.Linear(sizes[i], sizes[i + 1])
    model = nn.Sequential()
    for name, layer in layers.items():
        model.add_module(name, layer)
    return model


@torch.no_grad()
def _forward(model, x):
    return model(x)


def predict(model, x):
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        return _forward(model, x)
    finally:
        for m, mode in modes.items():
            m.training = mode
