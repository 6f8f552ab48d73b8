# Mutant: log_softmax as x - (m + log(sum(exp(x - m)))), i.e. x - logsumexp(x): stable against overflow, but
# next to a huge max the log(sum) is lost in rounding, so exp(result) no longer sums to 1 (all-equal 1e30 rows).
import torch


def log_softmax(logits, dim=-1):
    m = logits.amax(dim=dim, keepdim=True)
    return logits - (m + torch.log(torch.exp(logits - m).sum(dim=dim, keepdim=True)))
