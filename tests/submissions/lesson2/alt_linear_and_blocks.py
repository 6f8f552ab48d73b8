# Correct but different: AffineNet through nn.Linear(1, 1) with unsqueeze(-1)/squeeze(-1); make_mlp from
# nested Sequential blocks sharing one ReLU instance; predict under torch.inference_mode().
import torch
from torch import nn


class AffineNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 1)

    def forward(self, x):
        return self.linear(x.unsqueeze(-1)).squeeze(-1)


def make_mlp(sizes):
    relu = nn.ReLU()
    pairs = list(zip(sizes, sizes[1:]))
    blocks = [nn.Sequential(nn.Linear(a, b), relu) for a, b in pairs[:-1]]
    return nn.Sequential(*blocks, nn.Linear(*pairs[-1]))


def predict(model, x):
    was_training = model.training
    model.train(False)
    with torch.inference_mode():
        out = model(x)
    model.train(was_training)
    return out
