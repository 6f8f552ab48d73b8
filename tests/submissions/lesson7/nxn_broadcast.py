# Mutant (found in public code): a [N] log-sum-exp minus [N, 1] target logits is an [N, N] matrix whose
# mean happens to equal the right loss. Right values, N^2 memory and time.
import torch


def cross_entropy(logits, targets):
    m = logits.amax(dim=1, keepdim=True)
    lse = (logits - m).exp().sum(dim=1).log() + m.squeeze(1)  # [N, ...]
    picked = logits.gather(1, targets.unsqueeze(1))  # [N, 1, ...]
    return (lse - picked).mean()
