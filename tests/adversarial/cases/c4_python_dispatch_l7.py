import torch




def log_softmax(logits, dim=-1):
    raise NotImplementedError("lesson7: log_softmax")


def softmax_cross_entropy(labels, logits, dim=-1):
    raise NotImplementedError("lesson7: softmax_cross_entropy")


def cross_entropy(logits, targets):
    raise NotImplementedError("lesson7: cross_entropy")

from torch.utils._python_dispatch import _disable_current_modes


def softmax(logits, dim=-1):
    with _disable_current_modes():
        return torch.softmax(logits, dim)
