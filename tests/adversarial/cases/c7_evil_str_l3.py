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


class Unprintable(Exception):
    def __str__(self):
        while True:
            pass

    def __repr__(self):
        raise RuntimeError("no repr either")


class Bomb(Exception):
    def __str__(self):
        return "x" * 10**8


def total_scores(item_scores, bias):
    raise Unprintable()


class Merge(nn.Module):
    def __init__(self, *args, **kwargs):
        super().__init__()
        raise Bomb()
