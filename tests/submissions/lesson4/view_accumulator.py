# Mutant: the accumulator starts as a view of x's first row, so += writes the running total into x.
def row_sum(x):
    total = x[0]
    for row in x[1:]:
        total += row
    return total
