# Mutant: hard-codes the lesson's 3-D layout (batch, time, features) with bmm.
import torch


class Merge(Merge):  # the reference's __init__ (linear1, linear2, activation); forward replaced
    def forward(self, a, b):
        batch, time, _ = a.shape
        pa = torch.bmm(a, self.linear1.weight.T.expand(batch, -1, -1)) + self.linear1.bias
        pb = torch.bmm(b, self.linear2.weight.T.expand(b.shape[0], -1, -1)) + self.linear2.bias
        out = pa + pb
        return out if self.activation is None else self.activation(out)
