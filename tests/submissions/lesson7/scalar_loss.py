# Mutant: the notes' `-torch.sum(labels * log_softmax(logits))`: one number for the batch instead of one loss per
# example. Its gradient equals the right one, so only the values show the mistake.
import torch


def softmax_cross_entropy(labels, logits, dim=-1):
    return -torch.sum(labels * log_softmax(logits, dim=dim))
