# Mutant: squeeze() without a dim also drops the batch dim when N = 1.
from torch import nn


class AffineNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, x):
        return self.linear(x.unsqueeze(1)).squeeze()
