# Mutant: a stable softmax that always computes in float32 (right for float32 inputs, loses float64 precision).
import torch


def softmax(logits, dim=-1):
    x = logits.float()
    e = (x - x.amax(dim=dim, keepdim=True)).exp()
    return e / e.sum(dim=dim, keepdim=True)
