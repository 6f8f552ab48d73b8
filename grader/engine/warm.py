"""Pays the judging helpers' first-use costs in a forkserver, so that every child forked from it starts warm.

Preloaded (never called) by the forkserver of grader.engine.forkserver: the first TorchDispatchMode a
process enters sets up torch's Python dispatch machinery once. (It used to import torch._dynamo and sympy
too, ~0.9 s here; grader.probes.ops.dynamo_only_when_loaded leaves that to code that compiles.)
Nothing here starts a thread, so forking afterwards stays safe.
"""

import torch

from grader.probes.ops import record_ops

record_ops(lambda: torch.ones(2) + 1)
