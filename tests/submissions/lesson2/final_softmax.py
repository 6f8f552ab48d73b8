# Mutant: the network ends in a Softmax, so it returns probabilities instead of logits.
from torch import nn


def make_mlp(sizes):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(n_in, n_out))
    layers.append(nn.Softmax(dim=1))
    return nn.Sequential(*layers)
