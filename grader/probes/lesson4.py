"""Lesson 4 probes (child side): call the student's `row_sum` / `masked_mean`, return plain data."""

from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode

from grader.probes import pick, plain_tensor, probe, synchronize
from grader.probes.jacobians import jacobians
from grader.probes.ops import record_ops

# The notes' example: 500 rows of 10. One timed request runs `repeats` calls on fresh inputs.
SPEED = {"shape": (500, 10), "repeats": 200, "baseline_repeats": 4}

# Element-wise boolean operators as the student's code calls them (&, |, ^, ~, their in-place and reflected
# forms, torch.bitwise_* and torch.logical_*). Read at the torch-function level, not at the dispatcher, so that
# what a built-in does inside (torch.nanmean runs a ~isnan of its own) is not taken for the student's masks.
MASK_OPS = {f"{kind}_{op}{inplace}" for kind in ("bitwise", "logical") for op in ("and", "or", "xor", "not")
            for inplace in ("", "_")}
MASK_OPS |= {f"__{prefix}{op}__" for prefix in ("", "i", "r") for op in ("and", "or", "xor")} | {"__invert__"}


def speed_input(seed: int) -> torch.Tensor:
    """x [500, 10] from `seed` (the judge builds the same one to compare)."""
    return torch.rand(*SPEED["shape"], generator=torch.Generator().manual_seed(seed))


class _MaskOps(TorchFunctionMode):
    """Records the boolean operators the code calls, with the dtypes of their tensor operands."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: list[tuple[str, list[str]]] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in MASK_OPS:
            dtypes = [str(a.dtype).replace("torch.", "") for a in args if isinstance(a, torch.Tensor)]
            self.ops.append((name, dtypes))
        return func(*args, **(kwargs or {}))


# ------------------------------------------------------------------------------------------------------
# row_sum
# ------------------------------------------------------------------------------------------------------
@probe("lesson4")
def probe_row_sum(sub, x: torch.Tensor, device: str) -> dict:
    """The result, and x as the student's code left it (an in-place edit through a view shows here)."""
    row_sum = sub.get("row_sum")
    x = x.to(device)
    y = plain_tensor(row_sum(x), "row_sum")
    return {"y": y.detach().cpu(), "device": y.device.type, "x_after": x.detach().cpu()}


@probe("lesson4")
def probe_row_sum_grads(sub, x: torch.Tensor, cotangent: torch.Tensor, device: str) -> dict:
    row_sum = sub.get("row_sum")
    x = x.to(device).requires_grad_(True)
    y = plain_tensor(row_sum(x), "row_sum")
    if not y.requires_grad:
        return {"requires_grad": False, "y": y.detach().cpu(), "grad": None}
    if tuple(y.shape) == tuple(cotangent.shape):
        (y * cotangent.to(device=device, dtype=y.dtype)).sum().backward()
    return {"requires_grad": True, "y": y.detach().cpu(),
            "grad": None if x.grad is None else x.grad.detach().cpu()}


@probe("lesson4")
def probe_row_sum_jacobians(sub, x: torch.Tensor, device: str) -> dict:
    row_sum = sub.get("row_sum")
    return jacobians(lambda t: plain_tensor(row_sum(t), "row_sum"), [x.to(device)])


@probe("lesson4")
def probe_row_sum_ops(sub, x: torch.Tensor, device: str) -> dict:
    """The result and the names of the aten ops one call dispatched (after an unrecorded warm-up)."""
    row_sum = sub.get("row_sum")
    x = x.to(device)
    row_sum(x.clone())  # warm-up on a copy: a function that edits its input must not skew the recorded call
    y: list = []
    ops = record_ops(lambda: y.append(plain_tensor(row_sum(x), "row_sum")))
    return {"y": y[0].detach().cpu(), "device": y[0].device.type, "ops": [name for name, _ in ops]}


def _timed(fn, seeds: list[int], device: str):
    inputs = [speed_input(seed).to(device) for seed in seeds]

    def go(which: list[int], flat_index: torch.Tensor) -> list[dict]:
        with torch.no_grad():
            outputs = [plain_tensor(fn(x), "row_sum") for x in inputs]
        synchronize(device)
        return [pick(outputs[i], flat_index) for i in which]

    return None, go


@probe("lesson4")
def probe_row_sum_speed(sub, seeds: list[int], device: str):
    """Timed: the student's row_sum on fresh inputs, one per seed."""
    return _timed(sub.get("row_sum"), seeds, device)


def slicing_loop(x: torch.Tensor) -> torch.Tensor:
    """The notes' loop: one slice and one in-place add per row."""
    z = torch.zeros(x.shape[1:], dtype=x.dtype, device=x.device)
    for i in range(x.shape[0]):
        z += x[i]
    return z


@probe("lesson4")
def probe_slicing_loop_speed(sub, seeds: list[int], device: str):
    """Timed baseline (run in a clean process): the notes' slicing loop on the same kind of inputs."""
    return _timed(slicing_loop, seeds, device)


# ------------------------------------------------------------------------------------------------------
# masked_mean
# ------------------------------------------------------------------------------------------------------
@probe("lesson4")
def probe_masked_mean(sub, x: torch.Tensor, lo: float, hi: float, dim: int, device: str) -> dict:
    """The result and the boolean operators it ran (name, operand dtypes)."""
    masked_mean = sub.get("masked_mean")
    recorder = _MaskOps()
    with recorder:
        y = plain_tensor(masked_mean(x.to(device), lo, hi, dim), "masked_mean")
    return {"y": y.detach().cpu(), "device": y.device.type, "mask_ops": recorder.ops}


@probe("lesson4")
def probe_masked_mean_grads(sub, x: torch.Tensor, lo: float, hi: float, dim: int, cotangent: torch.Tensor,
                            device: str) -> dict:
    masked_mean = sub.get("masked_mean")
    x = x.to(device).requires_grad_(True)
    recorder = _MaskOps()
    with recorder:
        y = plain_tensor(masked_mean(x, lo, hi, dim), "masked_mean")
    if not y.requires_grad:
        return {"requires_grad": False, "y": y.detach().cpu(), "grad": None, "mask_ops": recorder.ops}
    if tuple(y.shape) == tuple(cotangent.shape):
        (y * cotangent.to(device=device, dtype=y.dtype)).sum().backward()
    return {"requires_grad": True, "y": y.detach().cpu(), "mask_ops": recorder.ops,
            "grad": None if x.grad is None else x.grad.detach().cpu()}


@probe("lesson4")
def probe_masked_mean_jacobians(sub, x: torch.Tensor, lo: float, hi: float, dim: int, device: str) -> dict:
    masked_mean = sub.get("masked_mean")
    return jacobians(lambda t: plain_tensor(masked_mean(t, lo, hi, dim), "masked_mean"), [x.to(device)])
