# Mutant: predict leaves the model in eval mode.
import torch


def predict(model, x):
    model.eval()
    with torch.no_grad():
        return model(x)
