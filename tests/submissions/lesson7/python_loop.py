# Mutant: correct values, but both cross-entropies loop over the examples in Python (the speed baseline).
import torch


def softmax_cross_entropy(labels, logits, dim=-1):
    labels, logits = labels.movedim(dim, -1), logits.movedim(dim, -1)
    rows = [-(l * log_softmax(x, dim=-1)).sum(-1) for l, x in zip(labels.reshape(-1, labels.shape[-1]),
                                                                  logits.reshape(-1, logits.shape[-1]))]
    return torch.stack(rows).reshape(logits.shape[:-1]) if rows else logits.sum(-1)


def cross_entropy(logits, targets):
    flat = logits.movedim(1, -1).reshape(-1, logits.shape[1])
    losses = [-log_softmax(row, dim=0)[t] for row, t in zip(flat, targets.reshape(-1))]
    return torch.stack(losses).mean()
