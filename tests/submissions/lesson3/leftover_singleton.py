# Mutant: [batch, 1] + [batch] broadcasts to [batch, batch] (the sum(a + b) = 12 pitfall).
def total_scores(item_scores, bias):
    return item_scores.sum(dim=1) + bias
