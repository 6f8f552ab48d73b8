"""Comparisons against PyTorch as the oracle, with messages for students (judge side)."""

from __future__ import annotations

import torch

from grader.engine.checks import Fail


def expect_close(got: torch.Tensor, expected: torch.Tensor, *, what: str, atol: float = 1e-5,
                 rtol: float = 1.3e-6) -> None:
    """Fail with shapes or the largest difference when `got` is not `expected`."""
    if not isinstance(got, torch.Tensor):
        raise Fail(f"{what}: expected a tensor, got {type(got).__name__}")
    if tuple(got.shape) != tuple(expected.shape):
        raise Fail(f"{what}: expected shape {list(expected.shape)}, got {list(got.shape)}")
    if got.dtype != expected.dtype:
        raise Fail(f"{what}: expected dtype {expected.dtype}, got {got.dtype}")
    # torch.allclose, not torch.testing.assert_close: the latter imports torch.distributed (a second).
    if not torch.allclose(got, expected, atol=atol, rtol=rtol, equal_nan=True):
        diff = (got.double() - expected.double()).abs()
        diff = torch.nan_to_num(diff, nan=float("inf"))
        index = tuple(int(i) for i in torch.unravel_index(diff.argmax(), diff.shape)) if diff.dim() else ()
        raise Fail(f"{what}: values differ (largest difference {diff.max().item():.3g} at index "
                   f"{list(index)}: got {got[index].item():.6g}, expected {expected[index].item():.6g})"
                   )


def shape(t: torch.Tensor | list[int] | tuple[int, ...]) -> str:
    return str(list(t.shape if isinstance(t, torch.Tensor) else t))
