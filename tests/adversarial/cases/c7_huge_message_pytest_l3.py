import torch
from torch import nn


class Merge(nn.Module):
    def __init__(self, in_features1, in_features2, out_features, activation=None):
        super().__init__()
        raise NotImplementedError("lesson3: Merge")

    def forward(self, a, b):
        raise NotImplementedError("lesson3: Merge")


def total_scores(item_scores, bias):
    raise NotImplementedError("lesson3: total_scores")


def total_scores(item_scores, bias):
    raise ValueError("A" * 4_000_000)


class Merge(nn.Module):
    def __init__(self, *args, **kwargs):
        super().__init__()
        raise RuntimeError("B\n" * 2_000_000)
