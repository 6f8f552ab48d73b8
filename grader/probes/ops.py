"""Which tensor operations a piece of code runs, observed at the dispatcher (child side)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten


def dynamo_only_when_loaded(mode: type[TorchDispatchMode]) -> type[TorchDispatchMode]:
    """Class decorator: the mode's `__torch_dispatch__` imports torch._dynamo only once something else has.

    torch wraps every TorchDispatchMode's `__torch_dispatch__` in `torch._disable_dynamo`, whose first call
    imports torch._dynamo (and sympy: ~0.9 s here) so that a torch.compile trace never enters the mode's
    Python body. While torch._dynamo is not imported nothing can be compiling, so the body is called
    directly; from the first call after it is (student code used torch.compile), torch's own path applies.
    If a torch version wraps differently, nothing changes but the import time.
    """
    inner = mode.__dict__.get("__torch_dispatch__")
    raw = getattr(inner, "__wrapped__", None)
    if raw is None or not callable(inner):
        return mode

    def until_dynamo(*args: Any, **kwargs: Any) -> Any:
        if "torch._dynamo" in sys.modules:
            delattr(raw, "__dynamo_disable")  # torch's wrapper builds and caches the real one now
            return inner(*args, **kwargs)
        return raw(*args, **kwargs)

    setattr(raw, "__dynamo_disable", until_dynamo)  # the cache torch's wrapper reads before importing
    return mode


@dynamo_only_when_loaded
class _Recorder(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.ops: list[tuple[str, list[list[int]]]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        shapes = [list(t.shape) for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        self.ops.append((func.overloadpacket.__name__, shapes))
        return out


def record_ops(fn: Callable[[], Any]) -> list[tuple[str, list[list[int]]]]:
    """Run `fn()` and return (aten op name, output shapes) for every op it dispatched, in order."""
    with _Recorder() as recorder:
        fn()
    return recorder.ops
