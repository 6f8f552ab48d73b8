# Mutant: the notes' log-softmax, x - logsumexp(x) without keepdim=True: [N, C] - [N] raises when C != N and
# silently subtracts along the wrong dim when C == N. The reference cross-entropies call it, so they break too.
import torch


def log_softmax(logits, dim=-1):
    return logits - torch.logsumexp(logits, dim=dim)
