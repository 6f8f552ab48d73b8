# Mutant: right values from 0/1 integer masks combined with & (bitwise on integers).
def masked_mean(x, lo, hi, dim):
    inside = (x >= lo).int() & (x < hi).int()
    return (x * inside).sum(dim=dim) / inside.sum(dim=dim)
