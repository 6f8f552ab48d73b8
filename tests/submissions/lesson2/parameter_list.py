# Mutant: the two nn.Parameters kept in a Python list, where nn.Module does not look.
import torch
from torch import nn


class AffineNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.params = [nn.Parameter(torch.rand(1)), nn.Parameter(torch.rand(1))]

    def forward(self, x):
        a, b = self.params
        return a * x + b
