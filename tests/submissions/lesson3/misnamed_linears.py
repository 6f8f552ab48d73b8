# Mutant: two registered Linear layers, but not named linear1 / linear2 as the exercise asks.
from torch import nn


class Merge(nn.Module):
    def __init__(self, in_features1, in_features2, out_features, activation=None):
        super().__init__()
        self.first = nn.Linear(in_features1, out_features)
        self.second = nn.Linear(in_features2, out_features)
        self.activation = activation

    def forward(self, a, b):
        y = self.first(a) + self.second(b)
        return y if self.activation is None else self.activation(y)
