# Fault: Merge.forward never returns; total_scores is correct and must still be graded.


class Merge(Merge):  # the reference's __init__ (linear1, linear2, activation); forward replaced
    def forward(self, a, b):
        while True:
            pass
