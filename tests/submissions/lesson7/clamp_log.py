# Mutant: the clamp "fix" of log(softmax): a finite loss, but a wrong one, and no gradient where the clamp bites.
import torch


def softmax_cross_entropy(labels, logits, dim=-1):
    probs = softmax(logits, dim=dim).clamp(min=1e-12)
    return -(labels * torch.log(probs)).sum(dim=dim)
