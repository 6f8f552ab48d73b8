# Wrong: registered layers, but forward returns zeros of the right shape: no structure or speed point.
import torch
from torch import nn


class Merge(nn.Module):
    def __init__(self, in_features1, in_features2, out_features, activation=None):
        super().__init__()
        self.linear1 = nn.Linear(in_features1, out_features)
        self.linear2 = nn.Linear(in_features2, out_features)
        self.out_features = out_features

    def forward(self, a, b):
        lead = torch.broadcast_shapes(a.shape[:-1], b.shape[:-1])
        return torch.zeros(*lead, self.out_features, device=a.device)
