# Mutant: "row sum" read as each row's own total, a reduction over the wrong dim.
def row_sum(x):
    return x.sum(dim=-1)
