# Mutant: b created with requires_grad=False, so no optimizer ever changes it.
import torch
from torch import nn


class AffineNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.rand(1))
        self.b = nn.Parameter(torch.rand(1), requires_grad=False)

    def forward(self, x):
        return self.a * x + self.b
