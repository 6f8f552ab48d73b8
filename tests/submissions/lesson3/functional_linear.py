# Correct but different: F.linear on the submodules' weights, einsum for the item sum, in-place add.
import torch
import torch.nn.functional as F
from torch import nn


class Merge(nn.Module):
    def __init__(self, in_features1, in_features2, out_features, activation=None):
        super().__init__()
        self.linear1 = nn.Linear(in_features1, out_features)
        self.linear2 = nn.Linear(in_features2, out_features)
        self.activation = activation or (lambda x: x)

    def forward(self, a, b):
        merged = F.linear(a, self.linear1.weight) + F.linear(b, self.linear2.weight, self.linear2.bias)
        return self.activation(merged + self.linear1.bias)


def total_scores(item_scores, bias):
    return torch.einsum("bik->b", item_scores).add(bias)
