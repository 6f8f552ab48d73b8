# Mutant: tiles b with repeat, concatenates with a, then one Linear (the seed's "before" version).
import torch
from torch import nn


class Merge(Merge):  # the reference's __init__ (linear1, linear2, activation); forward replaced
    def forward(self, a, b):
        lead = torch.broadcast_shapes(a.shape[:-1], b.shape[:-1])
        a = a.expand(*lead, a.shape[-1])
        b = b.reshape(*[1] * (len(lead) + 1 - b.dim()), *b.shape)
        b = b.repeat(*[n // m for n, m in zip(lead, b.shape[:-1])], 1)
        weight = torch.cat([self.linear1.weight, self.linear2.weight], dim=1)
        out = nn.functional.linear(torch.cat([a, b], dim=-1), weight, self.linear1.bias + self.linear2.bias)
        return out if self.activation is None else self.activation(out)
