# Mutant: switches only the Dropout and BatchNorm layers to eval, not the model itself. A model whose own
# forward calls F.dropout(h, p, training=self.training) still drops units.
import torch
from torch import nn


def predict(model, x):
    layers = [m for m in model.modules() if isinstance(m, (nn.Dropout, nn.BatchNorm1d, nn.BatchNorm2d))]
    modes = [m.training for m in layers]
    for m in layers:
        m.eval()
    try:
        with torch.no_grad():
            return model(x)
    finally:
        for m, mode in zip(layers, modes):
            m.train(mode)
