# Mutant: a bare squeeze() also drops the batch (or item) dim when its size is 1.
def total_scores(item_scores, bias):
    return item_scores.squeeze().sum(dim=1) + bias
