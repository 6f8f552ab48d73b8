# Mutant: the notes' nn.Linear(1, 1) version without the final squeeze: [N] in, [N, 1] out.
from torch import nn


class AffineNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, x):
        return self.linear(x.unsqueeze(1))
