# Mutant: a and b kept as plain tensors (requires_grad=True): parameters() is empty, .to() leaves them behind.
import torch
from torch import nn


class AffineNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.rand(1, requires_grad=True)
        self.b = torch.rand(1, requires_grad=True)

    def forward(self, x):
        return self.a * x + self.b
