# Mutant: averages over the wrong dim (the classes, after gathering nothing): one value per class remains.
def cross_entropy(logits, targets):
    log_probs = log_softmax(logits, dim=1)
    return -log_probs.mean(dim=0)
