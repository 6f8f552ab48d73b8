# Mutant: total_scores returns a NumPy array, not a tensor (no autograd, no device).
def total_scores(item_scores, bias):
    return (item_scores.sum(dim=(1, 2)) + bias).detach().numpy()
