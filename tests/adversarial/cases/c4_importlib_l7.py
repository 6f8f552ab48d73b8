import torch




def log_softmax(logits, dim=-1):
    raise NotImplementedError("lesson7: log_softmax")


def softmax_cross_entropy(labels, logits, dim=-1):
    raise NotImplementedError("lesson7: softmax_cross_entropy")


def cross_entropy(logits, targets):
    raise NotImplementedError("lesson7: cross_entropy")

import importlib


def softmax(logits, dim=-1):
    return importlib.import_module("torch.nn.functional").softmax(logits, dim=dim)
