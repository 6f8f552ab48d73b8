"""Pays the judging helpers' first-use costs in a forkserver, so that every child forked from it starts warm.

Preloaded (never called) by the forkserver of grader.engine.runners. The first TorchDispatchMode
a process enters imports torch._dynamo and sympy (~2 s here); grading a class pays that once, not per child.
Nothing here starts a thread, so forking afterwards stays safe.
"""

import torch

from grader.probes.ops import record_ops

record_ops(lambda: torch.ones(2) + 1)
