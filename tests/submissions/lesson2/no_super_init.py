# Mutant: super().__init__() forgotten, so assigning the first nn.Parameter raises.
import torch
from torch import nn


class AffineNet(nn.Module):
    def __init__(self):
        self.a = nn.Parameter(torch.rand(1))
        self.b = nn.Parameter(torch.rand(1))

    def forward(self, x):
        return self.a * x + self.b
