# Mutant: the literal softmax, exp(x) / sum(exp(x)) along dim: exp overflows past ~88.7 (the notes' first version).
import torch


def softmax(logits, dim=-1):
    exp = torch.exp(logits)
    return exp / exp.sum(dim=dim, keepdim=True)
