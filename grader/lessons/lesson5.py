"""Lesson 5 (vectorization): `batch_gather`.

Judge side. Checks (`@check`) build inputs, call the probes of grader.probes.lesson5 through the runner,
compute PyTorch's answer here (torch.gather is the oracle) and judge.

The exercise's contract (its docstring in the notebook): `batch_gather(tensor, indices)` takes `tensor`
[B, N, *rest] and integer `indices` [B, *k] (int32 or int64) and returns [B, *k, *rest] with
`output[i, j...] = tensor[i, indices[i, j...]]`, on the input's device, in its dtype, differentiable
w.r.t. `tensor`. An index outside [0, N), negative ones included, raises IndexError.
"""

from __future__ import annotations

import math

import torch

from grader.engine.checks import Fail, Measured, Skip, StudentError, check
from grader.judging.compare import shape
from grader.judging.gradients import judge_jacobians
from grader.probes.lesson5 import (
    REPEATS,
    SPEED_SHAPE,
    probe_devices,
    probe_gather,
    probe_gather_speed,
    probe_jacobians,
    probe_loop_speed,
    probe_op_count,
    probe_raises,
    probe_torch_gather_speed,
    speed_inputs,
)


# ------------------------------------------------------------------------------------------------------
# Oracle and diagnosis (judge side)
# ------------------------------------------------------------------------------------------------------
def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def gather_oracle(tensor: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """output[i, j...] = tensor[i, indices[i, j...]], by torch.gather on a flattened index."""
    batch, rest = tensor.shape[0], tensor.shape[2:]
    index = indices.long().reshape(batch, -1, *([1] * len(rest))).expand(batch, -1, *rest)
    return torch.gather(tensor, 1, index).reshape(*indices.shape, *rest)


def make_inputs(batch: int, n: int, rest: list[int] | tuple[int, ...], k: list[int] | tuple[int, ...],
                seed: int, *, index_dtype: torch.dtype = torch.int64,
                dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """Distinct values everywhere (a random permutation), so every output row names where it came from."""
    g = _generator(seed)
    size = batch * n * math.prod(rest)
    tensor = torch.randperm(size, generator=g).reshape(batch, n, *rest)
    tensor = tensor.to(dtype) if dtype in (torch.int32, torch.int64) else (tensor.double() / size - 0.5).to(dtype)
    indices = torch.randint(0, n, (batch, *k), generator=g).to(index_dtype)
    return tensor, indices


def _describe(tensor: torch.Tensor, indices: torch.Tensor) -> str:
    return f"tensor {shape(tensor)} and {str(indices.dtype).replace('torch.', '')} indices {shape(indices)}"


def judge_output(r: dict, tensor: torch.Tensor, indices: torch.Tensor, device: str, what: str) -> None:
    y, expected = r["y"], gather_oracle(tensor, indices)
    if r["device"] != device:
        raise Fail(f"{what}: the inputs were on {device} but the output is on {r['device']}. Keep every "
                   "tensor you create on the inputs' device (device=indices.device).")
    if r.get("changed"):
        names = " and ".join(f"`{n}`" for n in r["changed"])
        raise Fail(f"{what}: batch_gather modified its argument {names} in place (e.g. `indices += offsets`). "
                   "The caller's tensors must be left alone: write `indices + offsets`.")
    if list(y.shape) != list(expected.shape):
        raise Fail(f"{what}: expected shape {shape(expected)} (indices.shape + tensor.shape[2:]), got "
                   f"{shape(y)}")
    if y.dtype != tensor.dtype:
        raise Fail(f"{what}: the output has dtype {y.dtype} but tensor has {tensor.dtype}. Gathering copies "
                   "values; it must not convert them.")
    if torch.equal(y, expected):
        return
    batch, n = tensor.shape[:2]
    rows = tensor.reshape(batch, 1, n, -1)
    got = y.reshape(batch, -1, 1, rows.shape[-1])
    own = (got == rows).all(-1).any(-1)  # [batch, k]: is this output row one of its own example's rows?
    if not bool(own.all()):
        i = int(own.all(-1).logical_not().nonzero()[0])
        raise Fail(f"{what}: output[{i}] holds values that are not in tensor[{i}]: rows of different "
                   f"examples got mixed. In the flattened [B * N, ...] tensor, example i starts at row i * N "
                   f"(N = tensor.shape[1] = {n}), so the offsets are arange(B) * N, shaped [B, 1, ..., 1] to "
                   "broadcast against indices.")
    raise Fail(f"{what}: every output row comes from its own example, but not from the row its index names: "
               "output[i, j...] must be tensor[i, indices[i, j...]]. Check the offsets' stride (example i "
               f"starts at row i * N, N = tensor.shape[1] = {n}) and that the index dims keep their order.")


def _call(sub, tensor: torch.Tensor, indices: torch.Tensor, device: str, what: str) -> None:
    judge_output(sub.call(probe_gather, tensor, indices, device), tensor, indices, device, what)


def _must_work(sub, tensor, indices, device, what: str, hint: str) -> None:
    try:
        _call(sub, tensor, indices, device, what)
    except StudentError as exc:
        raise Fail(f"{what}: {exc}. {hint}") from None
    except Fail as exc:
        raise Fail(f"{exc} {hint}") from None


# ------------------------------------------------------------------------------------------------------
# Public checks
# ------------------------------------------------------------------------------------------------------
@check("batch_gather", "seed_example")
def seed_example(sub, device: str, spec) -> str:
    tensor, _ = make_inputs(4, 5, [3], [], seed=1)
    indices = torch.tensor([1, 4, 0, 2])
    _call(sub, tensor, indices, device, f"{_describe(tensor, indices)}")
    return "output[i] = tensor[i, indices[i]] on the lesson's example"


@check("batch_gather", "index_shapes")
def index_shapes(sub, device: str, spec) -> str:
    tensor, indices = make_inputs(3, 6, [2], [], seed=2)
    _call(sub, tensor, indices, device, f"{_describe(tensor, indices)}")  # one index per example first
    for k in ([4], [2, 3], [3], [1], [2, 1, 2]):  # [3]: k == B, where a wrong broadcast goes unnoticed
        tensor, indices = make_inputs(3, 6, [2], k, seed=3 + len(k))
        _must_work(sub, tensor, indices, device, _describe(tensor, indices),
                   "It works for indices of shape [B], but batch_gather must also take indices [B, *k] "
                   "(several indices per example). Shape whatever you add per example (offsets, row "
                   "numbers) as [B, 1, ..., 1] so it broadcasts against indices.")
    return "indices of shape [B], [B, k] and [B, k1, k2] all work"


@check("batch_gather", "trailing_dims")
def trailing_dims(sub, device: str, spec) -> str:
    tensor, indices = make_inputs(3, 5, [], [], seed=4)
    _call(sub, tensor, indices, device, f"{_describe(tensor, indices)}")  # a plain [B, N] tensor first
    for rest in ([4], [2, 3], [2, 1, 3]):  # one index per example: index_shapes covers [B, *k]
        tensor, indices = make_inputs(3, 5, rest, [], seed=5 + len(rest))
        _must_work(sub, tensor, indices, device, _describe(tensor, indices),
                   "It works for a tensor of shape [B, N], but batch_gather must carry any trailing dims "
                   "along: tensor [B, N, *rest] gives [B, *k, *rest]. Only dims 0 and 1 take part in the "
                   "indexing.")
    return "tensors [B, N], [B, N, D] and [B, N, D1, D2] all work"


@check("batch_gather", "index_dtypes")
def index_dtypes(sub, device: str, spec) -> str:
    for index_dtype in (torch.int64, torch.int32):
        tensor, indices = make_inputs(4, 5, [3], [2], seed=6, index_dtype=index_dtype)
        what = _describe(tensor, indices)
        try:
            _call(sub, tensor, indices, device, what)
        except StudentError as exc:
            if index_dtype == torch.int64:
                raise
            raise Fail(f"{what}: {exc}. int32 indices are allowed. torch.gather accepts them, but "
                       "torch.take_along_dim and offset arithmetic mixed with int64 tensors may not: convert with "
                       "indices.long() (or .to(torch.int64)) inside batch_gather.") from None
    return "int64 and int32 indices give the same result"


# ------------------------------------------------------------------------------------------------------
# Hidden checks
# ------------------------------------------------------------------------------------------------------
@check("batch_gather", "matches_oracle")
def matches_oracle(sub, device: str, spec) -> str:
    from hypothesis import strategies as st

    from grader.judging.props import for_all
    from grader.judging.strategies import seeds

    dims = st.lists(st.integers(1, 4), min_size=0, max_size=3)
    strategy = st.tuples(st.integers(1, 5), st.integers(1, 6), dims, dims,
                         st.sampled_from([torch.int64, torch.int32]), seeds)

    def body(example) -> None:
        batch, n, rest, k, index_dtype, seed = example
        tensor, indices = make_inputs(batch, n, rest, k, seed, index_dtype=index_dtype)
        _call(sub, tensor, indices, device, "output")

    def describe(example) -> str:
        batch, n, rest, k, index_dtype, _ = example
        return f"tensor {[batch, n, *rest]} and {str(index_dtype).replace('torch.', '')} indices {[batch, *k]}"

    count = for_all(strategy, body, max_examples=spec.examples, describe=describe)
    return f"equals torch.gather on {count} drawn shapes, index ranks and index dtypes"


@check("batch_gather", "gradients")
def gradients(sub, device: str, spec) -> str:
    tensor, _ = make_inputs(3, 4, [2], [], seed=7, dtype=torch.float64)
    indices = torch.tensor([[1, 1, 3], [0, 2, 2], [3, 3, 3]])  # repeats: their gradients must add up
    result = sub.call(probe_jacobians, tensor, indices, device)
    judge_jacobians(result, ["tensor"], what="float64 gradcheck of batch_gather w.r.t. tensor")
    return "float64 gradcheck passes, repeated indices included"


@check("batch_gather", "device_and_dtype")
def device_and_dtype(sub, device: str, spec) -> str:
    for dtype in (torch.float64, torch.float16, torch.bfloat16, torch.int64):
        tensor, indices = make_inputs(3, 4, [2], [2], seed=8, dtype=dtype, index_dtype=torch.int32)
        _call(sub, tensor, indices, device, f"a {str(dtype).replace('torch.', '')} {_describe(tensor, indices)}")
    return f"output stays on {device} in the input's dtype (float64, float16, bfloat16, int64)"


def _out_of_range_cases() -> list[tuple[str, torch.Tensor]]:
    n = 5
    valid = torch.tensor([[0, 4], [4, 0], [2, 3]])
    past_end, negative, far, int32 = (valid.clone() for _ in range(4))
    past_end[0, 1] = n  # in the first example: a flat index would silently read example 1's first row
    negative[1, 0] = -1  # a flat index would read example 0's last row; Python would wrap around
    far[2, 1] = 1000
    int32 = int32.to(torch.int32)
    int32[0, 0] = n
    return [("index 5 in example 0", past_end), ("index -1 in example 1", negative),
            ("index 1000 in example 2", far), ("int32 index 5 in example 0", int32)]


@check("batch_gather", "out_of_range")
def out_of_range(sub, device: str, spec) -> str:
    tensor, _ = make_inputs(3, 5, [2], [], seed=9)
    valid = torch.tensor([[0, 4], [4, 0], [2, 3]])
    r = sub.call(probe_raises, tensor, valid, device)
    if r["raised"]:
        raise Fail(f"indices 0 and 4 are valid for tensor.shape[1] = 5, but batch_gather raised {r['raised']}: "
                   f"{r['message']}. Only indices < 0 or >= N are out of range.")
    for what, indices in _out_of_range_cases():
        r = sub.call(probe_raises, tensor, indices, device)
        context = f"{what} (tensor {shape(tensor)}, so valid indices are 0 to 4)"
        if r["raised"] is None:
            raise Fail(f"{context}: batch_gather returned a result instead of raising IndexError. "
                       f"{_diagnose_silent(r['y'], tensor, indices)}")
        if not r["index_error"]:
            raise Fail(f"{context}: batch_gather raised {r['raised']} ({r['message']}), not IndexError. Check "
                       "the range yourself and raise IndexError with a clear message: on a GPU, gather and "
                       "indexing kernels do not report a bad index where it happens (a device-side assert "
                       "kills the process, or garbage flows on).")
    return "indices past the end, negative and int32 ones raise IndexError; 0 and N - 1 are accepted"


def _diagnose_silent(y: torch.Tensor, tensor: torch.Tensor, indices: torch.Tensor) -> str:
    n = tensor.shape[1]
    if tuple(y.shape) == tuple(gather_oracle(tensor, indices.clamp(0, n - 1)).shape):
        if torch.equal(y, gather_oracle(tensor, indices.clamp(0, n - 1))):
            return ("The index looks clamped into range: clamping hides the bug that produced the index "
                    "and returns the wrong row. Raise IndexError instead.")
        if torch.equal(y, gather_oracle(tensor, indices.remainder(n))):
            return ("It wrapped the index around like Python's negative indexing; batch_gather treats every "
                    "index outside [0, N) as an error (see its docstring). Raise IndexError instead.")
    return ("The result is silent garbage: with flat offsets, an index past N (or below 0) reads a row of "
            "the next (or previous) example. Never return it; raise IndexError.")


@check("batch_gather", "no_python_loop")
def no_python_loop(sub, device: str, spec) -> str:
    from grader.judging.loops import batch_loops

    source = sub.source("batch_gather")
    if source is not None:
        loops = batch_loops(source, sub.source)
        if loops:
            raise Fail(f"batch_gather loops over the batch in Python ({loops[0].describe()}). This check reads "
                       "your code: a loop that runs once per example launches one small operation per "
                       "example, and TorchScript or torch.compile do not remove that. Replace it with one "
                       "batched operation: flat offsets, advanced indexing or torch.gather.")
    counts = {}
    for batch in (2, 16):
        tensor, indices = make_inputs(batch, 5, [3], [2], seed=batch)
        r = sub.call(probe_op_count, tensor, indices, device)
        judge_output({**r, "device": device, "changed": []}, tensor, indices, device, _describe(tensor, indices))
        if r["count"] == 0:
            raise Fail("no tensor operation was observed while batch_gather ran, yet it returned the right values: "
                       "the grader cannot see how it computes. Compute with ordinary PyTorch operations.")
        counts[batch] = r["count"]
    if counts[16] > counts[2]:
        raise Fail(f"batch_gather runs {counts[2]} tensor operations for a batch of 2 but {counts[16]} for a "
                   "batch of 16: it loops over the batch in Python somewhere this check could not read (a "
                   "helper, a lambda). Use one batched operation.")
    read = "its code has no loop over the batch and " if source is not None else ""
    return f"{read}it runs {counts[2]} operations whatever the batch size"


@check("batch_gather", "device_placement")
def device_placement(sub, device: str, spec) -> str:
    tensor, indices = make_inputs(4, 5, [3], [2], seed=10)
    inconclusive = []
    for home in ("cpu", "cuda"):
        r = sub.call(probe_devices, tensor, indices, home)
        label = "fake CUDA tensors" if home == "cuda" else "CPU tensors"
        if r["outcome"] == "raised":
            raise StudentError(f"your code raised {r['message']}")
        if r["outcome"] == "inconclusive":
            inconclusive.append(f"on {label}: {r['message']}")
            continue
        foreign = [s for s in r["sites"] if not s["device"].startswith(home)]
        if r["outcome"] == "mismatch":
            raise Fail(f"with tensor and indices on {label}, batch_gather mixed devices "
                       f"({r['message'].rstrip('!')}){_at(r['where'])}. {_blame(foreign, home)}")
        if r["output_device"] is not None and not r["output_device"].startswith(home):
            raise Fail(f"with tensor and indices on {label}, the output is on {r['output_device']}. "
                       f"{_blame(foreign, home)}")
    if inconclusive:
        raise Skip("device placement could not be simulated without a GPU " + "; ".join(inconclusive))
    return "simulated with fake CUDA tensors: no device mixing, the output stays on the inputs' device"


def _at(where: str) -> str:
    return f" at {where}" if where else ""


def _blame(sites: list[dict], home: str) -> str:
    fix = "Create helper tensors on the inputs' device: torch.arange(B, device=indices.device)."
    if not sites:
        return fix
    site = sites[0]
    if site["device"].startswith("cuda"):
        return (f"{site['call']}{_at(site['where'])} puts a tensor on {site['device']} whatever the inputs' "
                "device: a hard-coded device (like the notes' `.cuda()`) breaks CPU inputs, and crashes on a "
                f"machine without a GPU. {fix}")
    return (f"{site['call']}{_at(site['where'])} makes a tensor on the {site['device']} (the default device) "
            f"while the inputs are on {home}. {fix}")


def _speed(sub, device: str, baseline: str, slowdown_limit: float) -> dict:
    from grader.judging.speed import compare_speed, expect_sampled

    def verify(info, seed, flat_index, picks) -> None:
        tensor, indices = speed_inputs(seed)
        expect_sampled(picks[0], gather_oracle(tensor, indices), flat_index, what="batch_gather", atol=0, rtol=0)

    batch, _, d = SPEED_SHAPE
    probe = {"loop": probe_loop_speed, "gather": probe_torch_gather_speed}[baseline]
    times = compare_speed(sub, probe=probe_gather_speed, baseline=probe, device=device,
                          repeats=REPEATS["submission"], baseline_repeats=REPEATS[baseline], numel=batch * d,
                          verify=verify, slowdown_limit=slowdown_limit)
    return {"submission": times["submission"], baseline: times["baseline"]}


@check("batch_gather", "speed_vs_loop")
def speed_vs_loop(sub, device: str, spec) -> str:
    needed = spec.threshold("min_speedup", device)
    times = _speed(sub, device, "loop", 1 / needed)
    ratio = times["loop"] / times["submission"]
    measured = (f"{ratio:.1f}x faster than a Python loop over the batch (batch_gather "
                f"{times['submission'] * 1e3:.3f} ms, loop {times['loop'] * 1e3:.2f} ms on tensor "
                f"{list(SPEED_SHAPE)}; needs >= {needed:g}x)")
    if ratio < needed:
        raise Fail(f"only {measured}. Replace the per-example work with one batched operation.",
                   measured=ratio)
    return Measured(measured, ratio)


@check("batch_gather", "speed_vs_gather")
def speed_vs_gather(sub, device: str, spec) -> str:
    allowed = spec.threshold("max_slowdown", device)
    times = _speed(sub, device, "gather", allowed)
    ratio = times["submission"] / times["gather"]
    measured = (f"{ratio:.1f}x the time of one torch.gather call (batch_gather {times['submission'] * 1e3:.3f} "
                f"ms, torch.gather {times['gather'] * 1e3:.3f} ms on tensor {list(SPEED_SHAPE)}; allowed "
                f"<= {allowed:g}x)")
    if ratio > allowed:
        raise Fail(f"{measured}. A vectorized gather, bounds check included, costs a few operations; more "
                   "means per-example work or far more data touched than needed.", measured=ratio)
    return Measured(measured, ratio)
