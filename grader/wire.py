"""How probe results travel from the student's code to the judge: as data, never as live objects.

Results are serialized with torch.save and read back with `weights_only=True`, which accepts only
tensors, numbers, strings and plain containers. Whatever a submission returns, the judge receives data.
"""

from __future__ import annotations

import io
from typing import Any

import torch


class NotData(TypeError):
    """A probe tried to return something that is not plain data (a module, a function...)."""


def dumps(value: Any) -> bytes:
    buffer = io.BytesIO()
    try:
        torch.save(value, buffer)
    except Exception as exc:
        raise NotData(f"probe result is not plain data: {exc}") from exc
    return buffer.getvalue()


def loads(payload: bytes) -> Any:
    return torch.load(io.BytesIO(payload), weights_only=True)


def roundtrip(value: Any) -> Any:
    """What the judge would see had `value` crossed a process boundary."""
    return loads(dumps(value))
