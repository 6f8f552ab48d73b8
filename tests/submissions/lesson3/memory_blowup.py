# Fault: Merge.forward allocates far more memory than the grader allows.
import torch


class Merge(Merge):  # the reference's __init__ (linear1, linear2, activation); forward replaced
    def forward(self, a, b):
        hoard = [torch.ones(256, 1024, 1024) for _ in range(64)]  # 64 GiB if it were allowed
        return hoard[0]
