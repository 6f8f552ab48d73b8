# Mutant: one max subtracted over the whole batch (the notes' reduce_max, translated to torch.max without a dim).
import torch


def softmax(logits, dim=-1):
    exp = torch.exp(logits - torch.max(logits))
    return exp / exp.sum(dim=dim, keepdim=True)
