# Mutant: correct values, but a Python loop over the batch. Builds on the reference (composed before it).
import torch


class Merge(Merge):  # the reference's __init__ (linear1, linear2, activation); forward replaced
    def forward(self, a, b):
        lead = torch.broadcast_shapes(a.shape[:-1], b.shape[:-1])
        if not lead:
            out = self.linear1(a) + self.linear2(b)
        else:
            a = a.expand(*lead, a.shape[-1])
            b = b.expand(*lead, b.shape[-1])
            out = torch.stack([self.linear1(a[i]) + self.linear2(b[i]) for i in range(lead[0])])
        return out if self.activation is None else self.activation(out)
