# Mutant: torch.sum without a dim adds up the whole batch.
import torch


def total_scores(item_scores, bias):
    return torch.sum(item_scores) + bias
