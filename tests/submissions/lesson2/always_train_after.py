# Mutant: predict puts the model in train mode afterwards, whatever mode it had.
import torch


def predict(model, x):
    model.eval()
    with torch.no_grad():
        out = model(x)
    model.train()
    return out
