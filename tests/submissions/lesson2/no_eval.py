# Mutant: predict without model.eval(): dropout stays on and BatchNorm updates its running statistics.
import torch


def predict(model, x):
    with torch.no_grad():
        return model(x)
