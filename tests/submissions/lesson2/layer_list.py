# Mutant: an nn.Sequential subclass that keeps its layers in a Python list: none of them is registered.
from torch import nn


class MLP(nn.Sequential):
    def __init__(self, sizes):
        super().__init__()
        self.blocks = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            if i:
                self.blocks.append(nn.ReLU())
            self.blocks.append(nn.Linear(n_in, n_out))

    def forward(self, x):
        for layer in self.blocks:
            x = layer(x)
        return x


def make_mlp(sizes):
    return MLP(sizes)
