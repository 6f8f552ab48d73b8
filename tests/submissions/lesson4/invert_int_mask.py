# Mutant: the mask of entries outside the range made 0/1 integers, then flipped with ~ (bitwise: ~0 == -1, ~1 == -2).
def masked_mean(x, lo, hi, dim):
    outside = ((x < lo) | (x >= hi)).long()
    inside = ~outside
    return (x * inside).sum(dim=dim) / inside.sum(dim=dim)
