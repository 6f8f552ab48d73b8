"""Lesson 5 probes (child side): call the student's `batch_gather`, return plain data."""

from __future__ import annotations

import torch

from grader.engine.checks import StudentError
from grader.probes import pick, plain_tensor, probe, synchronize
from grader.probes.jacobians import jacobians
from grader.probes.ops import record_ops

SPEED_SHAPE = (4096, 50, 8)  # B, N, D: small rows, where per-op overhead dominates a Python loop
REPEATS = {"submission": 8, "gather": 8, "loop": 1}


def _batch_gather(sub):
    fn = sub.get("batch_gather")
    if not callable(fn):
        raise StudentError(f"batch_gather must be a function, got {type(fn).__name__}")
    return fn


def speed_inputs(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    batch, n, d = SPEED_SHAPE
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, n, d, generator=g), torch.randint(0, n, (batch,), generator=g)


@probe("lesson5")
def probe_gather(sub, tensor: torch.Tensor, indices: torch.Tensor, device: str) -> dict:
    tensor, indices = tensor.to(device), indices.to(device)
    before = (tensor.clone(), indices.clone())
    y = plain_tensor(_batch_gather(sub)(tensor, indices), "batch_gather")
    return {"y": y.detach().cpu(), "device": y.device.type,
            "changed": [name for name, old, new in zip(("tensor", "indices"), before, (tensor, indices))
                        if not torch.equal(old, new)]}


@probe("lesson5")
def probe_raises(sub, tensor: torch.Tensor, indices: torch.Tensor, device: str) -> dict:
    """What batch_gather does with out-of-range indices: the exception it raises, or what it returned."""
    fn = _batch_gather(sub)
    try:
        y = fn(tensor.to(device), indices.to(device))
    except Exception as exc:  # noqa: BLE001 - raising is the expected outcome; we report which exception
        return {"raised": type(exc).__name__, "index_error": isinstance(exc, IndexError),
                "message": str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""}
    y = plain_tensor(y, "batch_gather")
    return {"raised": None, "y": y.detach().cpu()}


@probe("lesson5")
def probe_jacobians(sub, tensor: torch.Tensor, indices: torch.Tensor, device: str) -> dict:
    fn = _batch_gather(sub)
    indices = indices.to(device)
    return jacobians(lambda t: plain_tensor(fn(t, indices), "batch_gather"), [tensor.to(device)])


@probe("lesson5")
def probe_op_count(sub, tensor: torch.Tensor, indices: torch.Tensor, device: str) -> dict:
    fn = _batch_gather(sub)
    tensor, indices = tensor.to(device), indices.to(device)
    fn(tensor, indices)  # warm-up outside the recording
    ops = record_ops(lambda: plain_tensor(fn(tensor, indices), "batch_gather"))
    return {"count": len(ops), "y": fn(tensor, indices).detach().cpu()}


@probe("lesson5")
def probe_devices(sub, tensor: torch.Tensor, indices: torch.Tensor, device: str) -> dict:
    from grader.probes.devices import run_on_device

    return run_on_device(_batch_gather(sub), [tensor, indices], device)


def _timed(fn, seeds: list[int], device: str):
    inputs = [tuple(t.to(device) for t in speed_inputs(seed)) for seed in seeds]

    def go(which: list[int], flat_index: torch.Tensor) -> list[dict]:
        with torch.no_grad():
            outputs = [plain_tensor(fn(tensor, indices), "batch_gather") for tensor, indices in inputs]
        synchronize(device)
        return [pick(outputs[i], flat_index) for i in which]

    return None, go


@probe("lesson5")
def probe_gather_speed(sub, seeds: list[int], device: str):
    """Timed: the student's batch_gather on fresh inputs, one per seed."""
    return _timed(_batch_gather(sub), seeds, device)


@probe("lesson5")
def probe_loop_speed(sub, seeds: list[int], device: str):
    """Timed baseline (clean process): the notes' first version, one small indexing op per example."""
    def python_loop(tensor: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        return torch.stack([tensor[i][indices[i]] for i in range(tensor.shape[0])])

    return _timed(python_loop, seeds, device)


@probe("lesson5")
def probe_torch_gather_speed(sub, seeds: list[int], device: str):
    """Timed baseline (clean process): one torch.gather call, index already int64 and expanded: the floor."""
    batch, _, d = SPEED_SHAPE
    prepared = [tuple(t.to(device) for t in speed_inputs(seed)) for seed in seeds]
    indexes = [i.view(batch, 1, 1).expand(batch, 1, d) for _, i in prepared]

    def go(which: list[int], flat_index: torch.Tensor) -> list[dict]:
        with torch.no_grad():
            outputs = [torch.gather(t, 1, index).view(batch, -1) for (t, _), index in zip(prepared, indexes)]
        synchronize(device)
        return [pick(outputs[i], flat_index) for i in which]

    return None, go
