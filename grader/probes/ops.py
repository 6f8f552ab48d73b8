"""Which tensor operations a piece of code runs, observed at the dispatcher (child side)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten


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
