# Mutant: activation applied to each branch before the sum.


class Merge(Merge):  # the reference's __init__ (linear1, linear2, activation); forward replaced
    def forward(self, a, b):
        pa, pb = self.linear1(a), self.linear2(b)
        if self.activation is not None:
            pa, pb = self.activation(pa), self.activation(pb)
        return pa + pb
