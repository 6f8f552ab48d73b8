# Mutant: the max is taken along dim, but the sum always along the last dim: right only when dim is -1.
def softmax(logits, dim=-1):
    exp = (logits - logits.amax(dim=dim, keepdim=True)).exp()
    return exp / exp.sum(dim=-1, keepdim=True)
