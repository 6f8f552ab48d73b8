# Mutant: correct values from the built-ins the exercises forbid.
import torch
import torch.nn.functional as F


def softmax(logits, dim=-1):
    return torch.softmax(logits, dim=dim)


def log_softmax(logits, dim=-1):
    return logits.log_softmax(dim)


def softmax_cross_entropy(labels, logits, dim=-1):
    return -(labels * F.log_softmax(logits, dim=dim)).sum(dim=dim)


def cross_entropy(logits, targets):
    return torch.nn.CrossEntropyLoss()(logits, targets)
