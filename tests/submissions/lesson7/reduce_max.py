# Mutant: the notes' softmax verbatim: torch.reduce_max does not exist in PyTorch (AttributeError when called).
import torch


def softmax(logits, dim=-1):
    exp = torch.exp(logits - torch.reduce_max(logits))
    return exp / torch.sum(exp, dim=dim, keepdim=True)
