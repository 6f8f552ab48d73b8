# Mutant: torch.set_grad_enabled(False) switches autograd off for the caller too, and is never undone.
import torch


def predict(model, x):
    was_training = model.training
    model.eval()
    torch.set_grad_enabled(False)
    out = model(x)
    model.train(was_training)
    return out
