"""How probe results travel from the student's code to the judge: as data, never as live objects.

Results are serialized with torch.save and read back with `weights_only=True`, which accepts only
tensors, numbers, strings and plain containers. Whatever a submission returns, the judge receives data.
The judge also bounds what that data can cost it before touching it: the reply's size in bytes, and the
memory its tensors would take once used (`numel x element size`, which a stride-0 view of a huge shape
would otherwise hide inside a few bytes).
"""

from __future__ import annotations

import io
from typing import Any

import torch

MAX_REPLY_BYTES = 256 << 20
MAX_TENSOR_BYTES = 1 << 30  # all tensors of one reply, as materialised
MAX_ITEMS = 200_000  # containers and scalars in one reply


class NotData(TypeError):
    """A reply that is not plain data, or that would cost the judge more than the caps."""


def dumps(value: Any) -> bytes:
    buffer = io.BytesIO()
    try:
        torch.save(value, buffer)
    except Exception as exc:
        raise NotData(f"probe result is not plain data: {exc}") from exc
    return buffer.getvalue()


def loads(payload: bytes, *, max_bytes: int = MAX_REPLY_BYTES, max_tensor_bytes: int = MAX_TENSOR_BYTES) -> Any:
    if len(payload) > max_bytes:
        raise NotData(f"a reply of {len(payload)} bytes (the limit is {max_bytes})")
    try:
        value = torch.load(io.BytesIO(payload), weights_only=True)
    except Exception as exc:
        raise NotData(f"not plain data ({type(exc).__name__}: {str(exc)[:200]})") from None
    _bounded(value, max_tensor_bytes)
    return value


def _bounded(value: Any, max_tensor_bytes: int) -> None:
    """Walk `value` without recursion; raise NotData past the caps or on an overlapping tensor view."""
    total, items, stack = 0, 0, [value]
    while stack:
        item = stack.pop()
        items += 1
        if items > MAX_ITEMS:
            raise NotData(f"a reply with more than {MAX_ITEMS} items")
        if isinstance(item, torch.Tensor):
            if item.layout != torch.strided or item.is_quantized:
                raise NotData(f"a {item.layout} tensor (only ordinary dense tensors are data here)")
            nbytes = item.numel() * item.element_size()
            if nbytes > item.untyped_storage().nbytes() and item.numel() > 1:
                raise NotData(f"a tensor view of shape {list(item.shape)} with more elements than its memory "
                              "(overlapping strides)")
            total += nbytes
            if total > max_tensor_bytes:
                raise NotData(f"tensors of more than {max_tensor_bytes >> 20} MiB in one reply")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)


def roundtrip(value: Any) -> Any:
    """What the judge would see had `value` crossed a process boundary."""
    return loads(dumps(value))
