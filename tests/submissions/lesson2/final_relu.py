# Mutant: a ReLU after every Linear, the last one included: no negative logits.
from torch import nn


def make_mlp(sizes):
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers)
