# Mutant: Linear layers only, no activation between them (one linear map in disguise).
from torch import nn


def make_mlp(sizes):
    return nn.Sequential(*[nn.Linear(n_in, n_out) for n_in, n_out in zip(sizes[:-1], sizes[1:])])
