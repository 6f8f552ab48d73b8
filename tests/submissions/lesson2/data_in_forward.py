# Mutant: forward reads the parameters through .data, so autograd never reaches them.
import torch
from torch import nn


class AffineNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.rand(1))
        self.b = nn.Parameter(torch.rand(1))

    def forward(self, x):
        return self.a.data * x + self.b.data
