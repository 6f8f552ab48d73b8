# Mutant: right values, but the output is detached from the autograd graph.
_reference_batch_gather = batch_gather  # noqa: F821 - the reference is composed before this file


def batch_gather(tensor, indices):
    return _reference_batch_gather(tensor, indices).detach()
