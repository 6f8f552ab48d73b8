"""Lesson 4 (overloaded operators): `row_sum` and `masked_mean` (judge side).

Checks (`@check`) build inputs, call the probes of grader.probes.lesson4 through the runner, compute
PyTorch's answer here and judge.

Tolerances. A sum of n floats in any order is within (n - 1) * u * sum(|x_i|) of the exact sum (u = eps / 2,
the unit roundoff), so row_sum may differ from the float64 sum by n * eps * sum(|x_i|) along dim 0 (twice
that bound): a loop, a pairwise sum and a reordered sum all fit, a missing or doubled row does not (it is off
by |x_i|, hundreds of times the bound at n = 500). Integer sums are exact. masked_mean gets the same bound
for its masked sum, divided by the count, plus 2 eps of the result for the division. The mask itself is
computed here on x in its own dtype, as the student's comparisons are (lo and hi are rounded to x's dtype
by the comparison), so the oracle and the submission agree on which entries count.

dtypes: row_sum must return what x.sum(dim=0) returns: x's own dtype for float32, float64 and int64 (the
dtypes checked; torch.sum promotes smaller integer types to int64). masked_mean takes float tensors only
(float32, float64) and returns x's dtype.
"""

from __future__ import annotations

import ast
import re

import torch

from grader.engine.checks import Fail, Measured, StudentError, check
from grader.judging.compare import shape
from grader.judging.gradients import judge_jacobians
from grader.probes.lesson4 import (
    SPEED,
    probe_masked_mean,
    probe_masked_mean_grads,
    probe_masked_mean_jacobians,
    probe_row_sum,
    probe_row_sum_grads,
    probe_row_sum_jacobians,
    probe_row_sum_ops,
    probe_row_sum_speed,
    probe_slicing_loop_speed,
    speed_input,
)

# ------------------------------------------------------------------------------------------------------
# Messages for the known mistakes
# ------------------------------------------------------------------------------------------------------
WRONG_DIM_SUM = ("you summed over dim {d} (each row's own total, shape {got}), not over dim 0. row_sum adds the "
                 "rows together, x[0] + x[1] + ...: reduce dim=0, which leaves x.shape[1:] = {want}.")
SUM_ALL = ("you summed every entry into one number: a sum without a dim reduces all dims. Pass dim=0, which "
           "leaves x.shape[1:] = {want}.")
ACCUMULATOR_DTYPE = ("row_sum of a {x} tensor must return {want}, as x.sum(dim=0) does, but returned {got}. An "
                     "accumulator made with torch.zeros(...) and no dtype= is float32 whatever x is: keep x's dtype "
                     "(x.new_zeros(...), dtype=x.dtype), or better, let one reduction do it.")
VIEW_WRITTEN = ("row_sum changed its input: {where}. Augmented operators work in place, and a slice is a view "
                "of x: `z = x[0]` then `z += row` writes the running total into x[0] itself. Never edit the "
                "caller's tensor; one reduction, x.sum(dim=0), returns a new tensor.")
EMPTY_SUM = ("x with no rows (shape {x}) must give zeros of shape {want}, as x.sum(dim=0) does: a sum of "
             "nothing is 0. Starting from x[0] fails there; a reduction handles it.")

AND_OR = ("Python's `and`, `or` and `not` cannot be overloaded: they ask each operand for a single True or False "
          "(bool(tensor)), and a tensor of several values (or of none) has no single one, hence 'Boolean value "
          "of Tensor ... is ambiguous'. Combine masks element by element with the operators PyTorch does "
          "overload, & (and), | (or) and ~ (not), each comparison in parentheses: (x >= lo) & (x < hi).")
CHAINED = ("A chained comparison such as `lo <= x < hi` is Python's `(lo <= x) and (x < hi)`, and `and` cannot be "
           "overloaded: it asks the tensor (lo <= x) for a single True or False, which a tensor of more than one "
           "value does not have. Write both comparisons and combine them with &: (x >= lo) & (x < hi).")
PRECEDENCE = ("& and | bind tighter than comparisons: `x >= lo & x < hi` is read as `x >= (lo & x) < hi`, a "
              "bitwise AND of lo with x inside a chained comparison. Put each comparison in parentheses: "
              "(x >= lo) & (x < hi).")
PRECEDENCE_FLOAT = ("That is where the bitwise AND of a number with a float tensor came from (& | ^ are defined "
                    "for bool and integer tensors only): ")
BITWISE_FLOAT = ("& | ^ and ~ are defined for bool and integer tensors only, and your code applied one to a float "
                 "tensor. Compare first, then combine the bool results, each comparison in parentheses: "
                 "(x >= lo) & (x < hi).")
AMBIGUOUS = ("Python asked a tensor of many values for a single True or False: `if tensor`, `and`, `or`, `not` "
             "and chained comparisons (lo <= x < hi) all do that, and none of them can be overloaded. Combine "
             "masks element by element with & | ~: (x >= lo) & (x < hi).")
INVERT_INT = ("`{op}` ran on an {dtype} mask. On integer tensors ~ is bitwise NOT, not logical NOT: ~1 == -2 and "
              "~0 == -1, so a 0/1 mask becomes -2/-1 and every entry counts (^ is bitwise XOR on integers "
              "too). Keep masks bool, straight from the comparisons (no .int(), .long() or .float()): on bool "
              "tensors ~ flips True and False.")
INT_MASKS = ("`{op}` combined {dtype} masks: & and | happen to work on 0/1 integers, but ~ on them gives -1 and -2 "
             "(bitwise NOT: ~1 == -2). Keep masks bool, straight from the comparisons, so that & | ~ are the "
             "logical operators.")
FULL_LENGTH = ("you divided by the length of the slice (x.shape[dim] = {n}), not by the number of entries in "
               "[lo, hi): a .mean(dim) of the masked tensor counts the zeros too. Divide the masked sum by the "
               "count of entries in range, mask.sum(dim=dim).")
GLOBAL_COUNT = ("you divided each slice's sum by the count of entries in range in the whole tensor: count each "
                "slice's own entries, mask.sum(dim=dim), not mask.sum().")
BOUNDARY = ("lo is inclusive and hi exclusive: [lo, hi) means lo <= x < hi, so an entry equal to lo counts and "
            "one equal to hi does not. You {what}.")
OUTSIDE = ("you averaged the entries outside [lo, hi), not the ones inside: the mask is inverted (check where "
           "the ~ goes).")
EMPTY_ZERO = ("gave {got:g} for a slice with no entries in [lo, hi) (at {index}): the mean of no numbers is "
              "undefined, and masked_mean returns nan there. The masked sum 0 divided by the count 0 gives nan by "
              "itself: do not clamp the count or replace nan.")
WRONG_DIM_MEAN = ("you reduced dim {d}, not dim={dim}: pass dim to both reductions (the masked sum and the "
                  "count), which leaves x's shape without dim {dim}.")


# ------------------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------------------
def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _rand(*size: int, seed: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.rand(*size, generator=_generator(seed), dtype=torch.float64).to(dtype)


def _randn(*size: int, seed: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(*size, generator=_generator(seed), dtype=torch.float64).to(dtype)


def _ints(*size: int, seed: int) -> torch.Tensor:
    return torch.randint(-100, 100, size, generator=_generator(seed), dtype=torch.int64)


def _label(x: torch.Tensor) -> str:
    return f"x {shape(x)} ({str(x.dtype).replace('torch.', '')})"


# ------------------------------------------------------------------------------------------------------
# row_sum: oracle and diagnosis
# ------------------------------------------------------------------------------------------------------
def _sum_tolerance(x: torch.Tensor, dim) -> torch.Tensor | None:
    """Per-entry error allowed for a float sum over `dim` (None for integers: exact)."""
    if not x.is_floating_point():
        return None
    n = x.shape[dim] if isinstance(dim, int) else x.numel()
    eps = torch.finfo(x.dtype).eps
    return (n + 1) * eps * x.double().abs().sum(dim) + torch.finfo(x.dtype).tiny


def _sum_matches(y: torch.Tensor, x: torch.Tensor, dim) -> bool:
    """`y` equals x.sum(dim) in shape and value (within the float bound)."""
    expected = x.double().sum(dim) if x.is_floating_point() else x.sum(dim)
    if list(y.shape) != list(expected.shape) or y.is_complex() or y.dtype == torch.bool:
        return False
    tol = _sum_tolerance(x, dim)
    if tol is None:
        return bool(torch.equal(y.to(expected.dtype), expected)) if not y.is_floating_point() else \
            bool(torch.allclose(y.double(), expected.double(), rtol=0, atol=0))
    return bool(((y.double() - expected).abs() <= tol).all())


def judge_row_sum(r: dict, x: torch.Tensor, device: str, what: str) -> None:
    if r["device"] != device:
        raise Fail(f"{what}: x was on {device} but the result is on {r['device']}")
    y = r["y"]
    want = shape(x.shape[1:])
    if not _sum_matches(y, x, 0):
        if x.dim() >= 2 and y.dim() == 0 and _sum_matches(y, x, tuple(range(x.dim()))):
            raise Fail(f"{what}: {SUM_ALL.format(want=want)}")
        for d in range(1, x.dim()):
            if list(y.shape) == list(x.sum(d).shape) and _sum_matches(y, x, d):
                raise Fail(f"{what}: {WRONG_DIM_SUM.format(d=d, got=shape(y), want=want)}")
        if list(y.shape) != list(x.shape[1:]):
            raise Fail(f"{what}: expected shape {want} (x's shape without dim 0, as x.sum(dim=0) gives), "
                       f"got {shape(y)}")
        expected = x.double().sum(0) if x.is_floating_point() else x.sum(0)
        diff = (y.double() - expected.double()).abs()
        diff = torch.nan_to_num(diff, nan=float("inf"))
        index = [int(i) for i in torch.unravel_index(diff.argmax(), diff.shape)] if diff.dim() else []
        got, exp = y.double()[tuple(index)].item(), expected.double()[tuple(index)].item()
        raise Fail(f"{what}: values differ from x.sum(dim=0) (at index {index}: got {got:.6g}, expected "
                   f"{exp:.6g})")
    expected_dtype = x.sum(0).dtype
    if y.dtype != expected_dtype:
        raise Fail(f"{what}: " + ACCUMULATOR_DTYPE.format(x=_dtype(x.dtype), want=_dtype(expected_dtype),
                                                          got=_dtype(y.dtype)))


def _dtype(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def _row_sum(sub, x: torch.Tensor, device: str, what: str | None = None, *, label: bool = True) -> dict:
    """Call row_sum on x, judge the values, return the probe's data."""
    what = what or _label(x)
    try:
        r = sub.call(probe_row_sum, x, device)
    except StudentError as exc:
        raise StudentError(f"row_sum on {what}: {exc}" if label else str(exc)) from None
    judge_row_sum(r, x, device, what)
    return r


# ------------------------------------------------------------------------------------------------------
# row_sum checks
# ------------------------------------------------------------------------------------------------------
@check("row_sum", "seed_example")
def row_sum_seed_example(sub, device: str, spec) -> str:
    x = _rand(500, 10, seed=4)
    _row_sum(sub, x, device, "the notes' x = torch.rand([500, 10])")
    small = torch.tensor([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]])
    _row_sum(sub, small, device, "x = [[1, 2, 3], [10, 20, 30]] (expected [11, 22, 33])")
    return "equals x.sum(dim=0) on the notes' [500, 10] and a [2, 3] example"


@check("row_sum", "other_shapes")
def row_sum_other_shapes(sub, device: str, spec) -> str:
    cases = [_rand(7, seed=11), _rand(6, 6, seed=12), _rand(1, 5, seed=13), _rand(4, 3, 2, seed=14),
             _rand(2, 3, 1, 5, seed=15)]
    for x in cases:
        _row_sum(sub, x, device)
    return "sums over dim 0 for ranks 1 to 4, a square x and a single row"


@check("row_sum", "dtypes")
def row_sum_dtypes(sub, device: str, spec) -> str:
    for x in (_rand(5, 3, seed=21, dtype=torch.float64), _ints(6, 4, seed=22), _ints(3, 2, 2, seed=23)):
        _row_sum(sub, x, device)
    return "float64 and int64 inputs keep their dtype (as x.sum(dim=0)); integer sums exact"


@check("row_sum", "empty_rows")
def row_sum_empty_rows(sub, device: str, spec) -> str:
    for x in (torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, 2, 3, dtype=torch.float64)):
        try:
            r = sub.call(probe_row_sum, x, device)
        except StudentError as exc:
            raise StudentError(f"row_sum on {_label(x)}: {exc}. "
                               + EMPTY_SUM.format(x=shape(x), want=shape(x.shape[1:]))) from None
        try:
            judge_row_sum(r, x, device, _label(x))
        except Fail as exc:
            if "you summed" in str(exc):  # a named mistake: its own message
                raise
            raise Fail(f"{str(exc).rstrip('.')}. " + EMPTY_SUM.format(x=shape(x), want=shape(x.shape[1:]))) from None
    return "no rows gives zeros of shape x.shape[1:]"


@check("row_sum", "leaves_input_unchanged")
def row_sum_leaves_input_unchanged(sub, device: str, spec) -> str:
    for x in (_rand(5, 3, seed=31), _ints(4, 2, seed=32)):
        r = _row_sum(sub, x, device)
        after = r["x_after"]
        if not torch.equal(after, x):
            changed = (after != x).nonzero()
            rows = sorted({int(i) for i in changed[:, 0]}) if changed.numel() else []
            where = f"after the call, row{'s' if len(rows) > 1 else ''} {rows[:5]} of x held other values"
            if rows == [0] and _sum_matches(after[0], x, 0):
                where = "after the call, x[0] held the total"
            raise Fail(f"{_label(x)}: " + VIEW_WRITTEN.format(where=where))
    return "x is unchanged after the call"


@check("row_sum", "matches_oracle")
def row_sum_matches_oracle(sub, device: str, spec) -> str:
    from hypothesis import strategies as st

    from grader.judging.props import for_all
    from grader.judging.strategies import seeds

    dtypes = st.sampled_from([torch.float32, torch.float64, torch.int64])
    sizes = st.lists(st.integers(0, 6), min_size=1, max_size=4)

    def build(example) -> torch.Tensor:
        size, dtype, scale, seed = example
        if dtype == torch.int64:
            return torch.randint(-1000, 1000, size, generator=_generator(seed))
        return (_randn(*size, seed=seed, dtype=torch.float64) * scale).to(dtype)

    def body(example) -> None:
        x = build(example)
        _row_sum(sub, x, device, "result", label=False)

    def describe(example) -> str:
        size, dtype, scale, _ = example
        return f"x {size} ({_dtype(dtype)}" + (f", scale {scale:g})" if dtype != torch.int64 else ")")

    n = for_all(st.tuples(sizes, dtypes, st.sampled_from([1.0, 1e-3, 1e6]), seeds), body,
                max_examples=spec.examples, describe=describe)
    return f"equals x.sum(dim=0) on {n} drawn shapes (ranks 1-4, empty dims) and dtypes"


@check("row_sum", "gradients")
def row_sum_gradients(sub, device: str, spec) -> str:
    x = _randn(5, 3, seed=41)
    cotangent = _randn(3, seed=42)
    try:
        r = sub.call(probe_row_sum_grads, x, cotangent, device)
    except StudentError as exc:
        extra = ""
        if "view of a leaf Variable" in str(exc) or "leaf Variable that requires grad" in str(exc):
            extra = (" Augmented operators work in place: `z = x[0]` is a view of x, and `z += row` writes into "
                     "x itself, which autograd refuses for an input that requires grad. Never edit x; one "
                     "reduction, x.sum(dim=0), returns a new tensor.")
        raise StudentError(f"row_sum on {_label(x)} requiring grad: {exc}.{extra}") from None
    judge_row_sum({**r, "device": device}, x, device, "the result before backward")
    if not r["requires_grad"]:
        raise Fail("row_sum's result does not require grad although x does: it left the autograd graph "
                   "(.item(), .tolist(), torch.tensor(...) of the values, .detach() or torch.no_grad()).")
    if r["grad"] is None:
        raise Fail("no gradient reached x: the result is not computed from x in the autograd graph")
    expected = cotangent.expand(5, 3)
    if not torch.allclose(r["grad"], expected, atol=1e-6, rtol=1e-6):
        raise Fail(f"the gradient w.r.t. x differs from x.sum(dim=0)'s: every row should receive the upstream "
                   f"gradient {cotangent.tolist()} once (max difference "
                   f"{(r['grad'] - expected).abs().max().item():.3g})")
    x64 = _randn(3, 2, 2, seed=43, dtype=torch.float64)
    judge_jacobians(sub.call(probe_row_sum_jacobians, x64, device), ["x"], what="float64 gradcheck on x [3, 2, 2]")
    return "every row receives the upstream gradient once; float64 gradcheck passes"


_SLICING_OPS = {"select", "slice", "narrow", "index", "index_select", "take", "gather", "as_strided"}


@check("row_sum", "no_slicing_loop")
def row_sum_no_slicing_loop(sub, device: str, spec) -> str:
    counts, totals = {}, {}
    for rows in (4, 32):
        x = _rand(rows, 3, seed=50 + rows)
        try:
            r = sub.call(probe_row_sum_ops, x, device)
        except StudentError as exc:
            raise StudentError(f"row_sum on {_label(x)}: {exc}") from None
        judge_row_sum(r, x, device, _label(x))
        if not r["ops"]:
            raise Fail("no tensor operation was observed while row_sum ran, yet it returned the right values: the "
                       "grader cannot see how it computes. Compute with ordinary PyTorch operations.")
        counts[rows] = sum(name in _SLICING_OPS for name in r["ops"])
        totals[rows] = len(r["ops"])
    if counts[32] - counts[4] >= 32 - 4:
        loop = _loop_line(sub, "row_sum")
        raise Fail(f"row_sum takes a slice of x per row ({counts[4]} indexing ops for 4 rows, {counts[32]} for "
                   f"32){loop}. Each x[i] is a full operator call that costs microseconds however small the row; "
                   "one reduction, x.sum(dim=0), replaces the whole loop.")
    return f"no slice per row ({totals[4]} operations for 4 rows, {totals[32]} for 32)"


def _loop_line(sub, name: str) -> str:
    """`: line 3 of row_sum: `for ...`` when the source shows a loop over the rows, else ''."""
    from grader.judging.loops import batch_loops

    source = sub.source(name)
    if source is None:
        return ""
    loops = batch_loops(source, sub.source)
    return f": {loops[0].describe()}" if loops else ""


@check("row_sum", "speed_vs_loop")
def row_sum_speed_vs_loop(sub, device: str, spec) -> str:
    from grader.judging.speed import compare_speed, expect_sampled

    def verify(info, seed, flat_index, picks) -> None:
        expect_sampled(picks[0], speed_input(seed).double().sum(0), flat_index, what="row_sum", atol=0.02, rtol=0)

    rows, cols = SPEED["shape"]
    needed = spec.threshold("min_speedup", device)
    times = compare_speed(sub, probe=probe_row_sum_speed, baseline=probe_slicing_loop_speed, device=device,
                          repeats=SPEED["repeats"], baseline_repeats=SPEED["baseline_repeats"], numel=cols,
                          verify=verify, slowdown_limit=1 / needed)
    ratio = times["baseline"] / times["submission"]
    measured = (f"{ratio:.1f}x faster than the notes' slicing loop on x [{rows}, {cols}] (row_sum "
                f"{times['submission'] * 1e6:.0f} us, loop {times['baseline'] * 1e6:.0f} us per call, timed by the "
                f"grader; needs >= {needed:g}x)")
    if ratio < needed:
        loop = _loop_line(sub, "row_sum")
        where = f"row_sum loops over the rows in Python{loop}" if loop else "row_sum still works row by row"
        raise Fail(f"correct values, but only {measured}: {where}. Slicing each row (x[i]) or looping over "
                   "torch.unbind(x), a loop runs at least one operator call per row, and each costs microseconds "
                   "whatever the row's size. One reduction, x.sum(dim=0), does all rows in one call.",
                   measured=ratio)
    return Measured(measured, ratio)


# ------------------------------------------------------------------------------------------------------
# masked_mean: oracle and diagnosis
# ------------------------------------------------------------------------------------------------------
def _reduced_mean(x: torch.Tensor, inside: torch.Tensor, dim: int, divisor: torch.Tensor | float | None = None
                  ) -> torch.Tensor:
    total = torch.where(inside, x.double(), 0.0).sum(dim)
    return total / (inside.sum(dim) if divisor is None else divisor)


def masked_mean_oracle(x: torch.Tensor, lo: float, hi: float, dim: int) -> torch.Tensor:
    """The mean of the entries lo <= x < hi along dim, in float64; nan where there are none."""
    return _reduced_mean(x, torch.logical_and(x.ge(lo), x.lt(hi)), dim)


def _mean_tolerance(x: torch.Tensor, inside: torch.Tensor, dim: int, expected: torch.Tensor) -> torch.Tensor:
    eps = torch.finfo(x.dtype).eps
    n = x.shape[dim]
    masked_abs = torch.where(inside, x.double().abs(), 0.0).sum(dim)
    count = inside.sum(dim).clamp(min=1)
    return (n + 1) * eps * masked_abs / count + 2 * eps * expected.abs().nan_to_num(0) + torch.finfo(x.dtype).tiny


def _close(y: torch.Tensor, expected: torch.Tensor, tol: torch.Tensor) -> bool:
    if list(y.shape) != list(expected.shape) or not y.is_floating_point():
        return False
    y = y.double()
    same_nan = torch.isnan(y) == torch.isnan(expected)
    diff = (y - expected).abs()
    return bool(same_nan.all() and ((diff <= tol) | torch.isnan(expected)).all())


def _variants(x: torch.Tensor, lo: float, hi: float, dim: int) -> list[tuple[str, torch.Tensor]]:
    """Known wrong answers (message, values), compared when a result is off."""
    inside = torch.logical_and(x.ge(lo), x.lt(hi))
    n = x.shape[dim]
    return [
        (FULL_LENGTH.format(n=n), _reduced_mean(x, inside, dim, divisor=float(n))),
        (GLOBAL_COUNT, _reduced_mean(x, inside, dim, divisor=inside.sum())),
        (BOUNDARY.format(what="left out the entries equal to lo (x > lo)"),
         _reduced_mean(x, (x > lo) & (x < hi), dim)),
        (BOUNDARY.format(what="counted the entries equal to hi (x <= hi)"),
         _reduced_mean(x, (x >= lo) & (x <= hi), dim)),
        (BOUNDARY.format(what="left out lo and counted hi (lo < x <= hi)"),
         _reduced_mean(x, (x > lo) & (x <= hi), dim)),
        (OUTSIDE, _reduced_mean(x, ~inside, dim)),
    ]


def _int_mask_ops(r: dict) -> list[tuple[str, str]]:
    """(operator, dtype) for each boolean operator that ran on a non-bool tensor."""
    found = []
    for name, dtypes in r.get("mask_ops") or []:
        odd = [d for d in dtypes if d != "bool"]
        if odd:
            found.append((_symbol(name), odd[0]))
    return found


def _symbol(name: str) -> str:
    """`~` for __invert__ and bitwise_not, `&` for __and__, __iand__, __rand__ and bitwise_and...; torch.logical_*."""
    if name.startswith("logical_"):
        return f"torch.{name}"
    core = name.strip("_").removeprefix("bitwise_")
    if name.startswith("__") and core[:1] in ("i", "r") and core[1:] in ("and", "or", "xor"):
        core = core[1:]
    return {"invert": "~", "not": "~", "and": "&", "or": "|", "xor": "^"}.get(core, name)


def judge_masked_mean(r: dict, x: torch.Tensor, lo: float, hi: float, dim: int, device: str, what: str) -> None:
    if r["device"] != device:
        raise Fail(f"{what}: x was on {device} but the result is on {r['device']}")
    y = r["y"]
    d = dim % x.dim()
    inside = torch.logical_and(x.ge(lo), x.lt(hi))
    expected = masked_mean_oracle(x, lo, hi, dim)
    tol = _mean_tolerance(x, inside, dim, expected)
    want = shape(expected)
    if list(y.shape) != list(expected.shape):
        for other in range(x.dim()):
            if other != d and list(y.shape) == list(x.sum(other).shape) and y.is_floating_point():
                alt = masked_mean_oracle(x, lo, hi, other)
                if _close(y, alt, _mean_tolerance(x, inside, other, alt)):
                    raise Fail(f"{what}: {WRONG_DIM_MEAN.format(d=other, dim=dim)}")
        if y.dim() == 0 and x.dim() > 1:
            raise Fail(f"{what}: you returned one number for the whole tensor; pass dim to both reductions (the "
                       f"masked sum and the count) so that each slice along dim={dim} gets its mean, shape {want}")
        raise Fail(f"{what}: expected shape {want} (x's shape without dim {dim}), got {shape(y)}")
    if not y.is_floating_point():
        raise Fail(f"{what}: expected a {_dtype(x.dtype)} result, got {_dtype(y.dtype)}: the mean of float "
                   "entries is a float (and nan where there are none)")
    if _close(y, expected, tol):
        if y.dtype != x.dtype:
            raise Fail(f"{what}: masked_mean of a {_dtype(x.dtype)} x must return {_dtype(x.dtype)}, got "
                       f"{_dtype(y.dtype)}")
        return
    int_ops = _int_mask_ops(r)
    inverted = [(op, dt) for op, dt in int_ops if op in ("~", "^")]
    if inverted:
        raise Fail(f"{what}: wrong values. " + INVERT_INT.format(op=inverted[0][0], dtype=inverted[0][1]))
    y64 = y.double()
    empty = torch.isnan(expected)
    wrong_empty = empty & ~torch.isnan(y64)
    if wrong_empty.any() and _close(torch.where(empty, expected, y64), expected, tol):
        # right wherever a slice has entries: only the empty slices are off
        index = [int(i) for i in wrong_empty.nonzero()[0]]
        got = y64[tuple(index)].item()
        where = f"index {index}" if index else "the 0-dim result"
        if got == 0:
            raise Fail(f"{what}: {EMPTY_ZERO.format(got=got, index=where)}")
        raise Fail(f"{what}: gave {got:g} at index {index}, where no entry lies in [lo, hi): the mean of no "
                   "numbers is nan (0 / 0), which masked_mean returns there")
    for message, values in _variants(x, lo, hi, dim):
        if _close(y, values, tol) and not _close(values, expected, tol):
            raise Fail(f"{what}: {message}")
    if wrong_empty.any():
        index = [int(i) for i in wrong_empty.nonzero()[0]]
        raise Fail(f"{what}: gave {y64[tuple(index)].item():g} at index {index}, where no entry lies in [lo, hi): "
                   "the mean of no numbers is nan (0 / 0)")
    stray = ~empty & torch.isnan(y64)
    if stray.any():
        index = [int(i) for i in stray.nonzero()[0]]
        raise Fail(f"{what}: gave nan at index {index}, where {int(inside.sum(dim)[tuple(index)])} entries lie in "
                   f"[lo, hi) (expected {expected[tuple(index)].item():.6g})")
    diff = torch.nan_to_num((y64 - expected).abs() - tol, nan=-1.0)
    index = [int(i) for i in torch.unravel_index(diff.argmax(), diff.shape)] if diff.dim() else []
    message = (f"{what}: values differ from the mean of the entries in [lo, hi) (at index {index}: got "
               f"{y64[tuple(index)].item():.6g}, expected {expected[tuple(index)].item():.6g})")
    if int_ops:
        message += ". " + INT_MASKS.format(op=int_ops[0][0], dtype=int_ops[0][1])
    raise Fail(message)


def _construct(tree: ast.AST) -> str | None:
    """The operator mistake an expression shows: precedence, chained, and_or (or None)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            parts = [node.left, *node.comparators]
            if any(isinstance(p, ast.BinOp) and isinstance(p.op, (ast.BitAnd, ast.BitOr, ast.BitXor)) for p in parts):
                found.add("precedence")
            elif len(node.ops) > 1:
                found.add("chained")
        elif isinstance(node, ast.BoolOp) or isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            found.add("and_or")
    for kind in ("precedence", "chained", "and_or"):
        if kind in found:
            return kind
    return None


def _parse_line(code: str) -> ast.AST | None:
    code = code.strip()
    for attempt in (code, code + " pass", code.removeprefix("elif ").removeprefix("if ").rstrip(":"),
                    code.removeprefix("return ")):
        try:
            return ast.parse(attempt)
        except SyntaxError:
            continue
    return None


def _source_tree(sub, name: str) -> ast.AST | None:
    """masked_mean's source and that of the top-level helpers it calls, parsed together."""
    source = sub.source(name)
    if source is None:
        return None
    sources = [source]
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    for helper in sorted(called - {name}):
        text = sub.source(helper)
        if text:
            sources.append(text)
    try:
        return ast.parse("\n\n".join(sources))
    except SyntaxError:
        return tree


def explain_error(message: str, sub) -> str:
    """What a known operator mistake behind `message` means, or ''."""
    ambiguous = "is ambiguous" in message
    bitwise_float = bool(re.search(r'"?bitwise_\w+"? not implemented for', message))
    if not (ambiguous or bitwise_float):
        return ""
    kind = None
    line = re.search(r"line \d+: `(.*)`\)", message)
    if line:
        tree = _parse_line(line.group(1))
        kind = _construct(tree) if tree is not None else None
    if kind is None:
        tree = _source_tree(sub, "masked_mean")
        kind = _construct(tree) if tree is not None else None
    if kind == "precedence":
        return (PRECEDENCE_FLOAT + PRECEDENCE) if bitwise_float else PRECEDENCE
    if bitwise_float:
        return BITWISE_FLOAT
    return {"chained": CHAINED, "and_or": AND_OR}.get(kind, AMBIGUOUS)


def _mean_label(x: torch.Tensor, lo: float, hi: float, dim: int) -> str:
    return f"{_label(x)}, lo={lo:g}, hi={hi:g}, dim={dim}"


def _masked_call(sub, probe, x: torch.Tensor, lo: float, hi: float, dim: int, *rest, label: bool = True) -> dict:
    """`sub.call(probe, x, lo, hi, dim, *rest)`; a raising submission is told the input (unless the caller
    names it already) and, for the known operator mistakes, what they mean."""
    try:
        return sub.call(probe, x, lo, hi, dim, *rest)
    except StudentError as exc:
        explanation = explain_error(str(exc), sub)
        text = f"masked_mean on {_mean_label(x, lo, hi, dim)}: {exc}" if label else str(exc)
        raise StudentError(f"{text}. {explanation}" if explanation else text) from None


def _mean_values(sub, x: torch.Tensor, lo: float, hi: float, dim: int, device: str, what: str | None = None,
                 *, label: bool = True) -> dict:
    r = _masked_call(sub, probe_masked_mean, x, lo, hi, dim, device, label=label)
    judge_masked_mean(r, x, lo, hi, dim, device, what or _mean_label(x, lo, hi, dim))
    return r


def _spread(x: torch.Tensor, lo: float, hi: float, gap: float = 1e-3) -> torch.Tensor:
    """x with every entry at least `gap` away from lo and hi (where the function jumps)."""
    for edge in (lo, hi):
        near = (x - edge).abs() < gap
        x = torch.where(near, x + 2 * gap, x)
    return x


# ------------------------------------------------------------------------------------------------------
# masked_mean checks
# ------------------------------------------------------------------------------------------------------
SEED_X = [[0.5, 1.5, 2.5, 3.5, 4.5], [3.0, 0.2, 2.2, 9.0, 1.8]]


@check("masked_mean", "seed_example")
def masked_mean_seed_example(sub, device: str, spec) -> str:
    x = torch.tensor(SEED_X)
    _mean_values(sub, x, 1.0, 4.0, 1, device, f"x = {SEED_X}, lo=1, hi=4, dim=1 (expected [2.5, 2.3333])")
    x = _randn(8, 16, seed=61)
    _mean_values(sub, x, -0.5, 1.0, 1, device)
    return "the lesson's example and a [8, 16] batch, along dim=1"


@check("masked_mean", "other_dims")
def masked_mean_other_dims(sub, device: str, spec) -> str:
    x = _randn(4, 5, 6, seed=71)
    for dim in (0, 1, 2, -1, -3):
        _mean_values(sub, x, -0.25, 0.75, dim, device)
    v = _randn(10, seed=72)
    for dim in (0, -1):
        _mean_values(sub, v, -1.0, 0.5, dim, device)
    return "dims 0, 1, 2, -1 and -3 of a 3-D x; a 1-D x gives a 0-dim mean"


@check("masked_mean", "empty_slices")
def masked_mean_empty_slices(sub, device: str, spec) -> str:
    cases = [
        (torch.tensor([[5.0, 6.0, 7.0], [0.125, 0.25, 5.0], [0.5, 2.0, 3.0]]), 0.0, 1.0, 1),
        (torch.tensor([[5.0, 0.5], [6.0, 7.0], [8.0, 9.0]]), 0.0, 1.0, 0),
        (_rand(4, 5, seed=81) + 2.0, 0.0, 1.0, -1),
        (torch.zeros(3, 0), 0.0, 1.0, 1),
    ]
    for x, lo, hi, dim in cases:
        _mean_values(sub, x, lo, hi, dim, device)
    return "nan (0 / 0) for every slice without entries in [lo, hi), also for an empty dim"


@check("masked_mean", "boundaries")
def masked_mean_boundaries(sub, device: str, spec) -> str:
    cases = [
        (torch.tensor([[1.0, 2.0, 3.0, 4.0], [2.0, 3.5, 4.0, 1.0], [2.0, 2.0, 4.0, 4.0]]), 2.0, 4.0, 1),
        (torch.tensor([[-2.0, -1.0, -0.5, 0.0]]), -1.0, 0.0, 1),
        (torch.tensor([[0.25, 0.5], [0.5, 0.75], [0.75, 0.75]], dtype=torch.float64), 0.5, 0.75, 0),
    ]
    for x, lo, hi, dim in cases:
        _mean_values(sub, x, lo, hi, dim, device)
    return "an entry equal to lo counts, one equal to hi does not"


@check("masked_mean", "matches_oracle")
def masked_mean_matches_oracle(sub, device: str, spec) -> str:
    from hypothesis import strategies as st

    from grader.judging.props import for_all
    from grader.judging.strategies import seeds

    @st.composite
    def examples(draw):
        size = draw(st.lists(st.integers(0, 6), min_size=1, max_size=4))
        dim = draw(st.integers(-len(size), len(size) - 1))
        lo = draw(st.integers(-8, 8)) / 4
        hi = lo + draw(st.sampled_from([0.25, 0.5, 1.0, 2.0, 4.0]))
        dtype = draw(st.sampled_from([torch.float32, torch.float64]))
        return size, dim, lo, hi, dtype, draw(seeds)

    def build(example) -> torch.Tensor:
        size, _, _, _, dtype, seed = example
        x = _randn(*size, seed=seed, dtype=torch.float64) * 2
        # a quarter of the entries on a grid of 1/4, so that some sit exactly on lo or hi
        on_grid = torch.rand(size, generator=_generator(seed + 1)) < 0.25
        return torch.where(on_grid, (x * 4).round() / 4, x).to(dtype)

    def body(example) -> None:
        size, dim, lo, hi, _, _ = example
        _mean_values(sub, build(example), lo, hi, dim, device, "result", label=False)

    def describe(example) -> str:
        size, dim, lo, hi, dtype, _ = example
        return f"x {size} ({_dtype(dtype)}), lo={lo:g}, hi={hi:g}, dim={dim}"

    n = for_all(examples(), body, max_examples=spec.examples, describe=describe)
    return f"equals the oracle on {n} drawn shapes, dims, ranges and dtypes"


@check("masked_mean", "gradients")
def masked_mean_gradients(sub, device: str, spec) -> str:
    lo, hi, dim = -1.0, 1.0, 1
    x = _spread(_randn(4, 6, seed=91), lo, hi)
    x[:, 0] = 0.5  # every row has an entry in range: the gradient is defined everywhere
    inside = torch.logical_and(x.ge(lo), x.lt(hi))
    cotangent = _randn(4, seed=92)
    r = _masked_call(sub, probe_masked_mean_grads, x, lo, hi, dim, cotangent, device)
    judge_masked_mean({**r, "device": device}, x, lo, hi, dim, device, "the result before backward")
    if not r["requires_grad"]:
        raise Fail("masked_mean's result does not require grad although x does: it left the autograd graph "
                   "(.item(), .tolist(), torch.tensor(...) of the values, .detach() or torch.no_grad()).")
    if r["grad"] is None:
        raise Fail("no gradient reached x: the result is not computed from x in the autograd graph")
    expected = cotangent[:, None] * inside / inside.sum(dim, keepdim=True)
    if not torch.allclose(r["grad"].double(), expected.double(), atol=1e-6, rtol=1e-5):
        raise Fail("the gradient w.r.t. x differs from the mean's: each entry in [lo, hi) should receive the "
                   "upstream gradient divided by its slice's count, every other entry 0 (max difference "
                   f"{(r['grad'].double() - expected.double()).abs().max().item():.3g})")
    for size, dim in (((3, 4), 0), ((2, 5), 1)):
        x64 = _spread(_randn(*size, seed=93 + dim, dtype=torch.float64) * 0.8, -0.5, 0.5)
        x64[0] = 0.1  # every slice along dim has an entry in range
        x64[:, 0] = 0.2
        judge_jacobians(_masked_call(sub, probe_masked_mean_jacobians, x64, -0.5, 0.5, dim, device), ["x"],
                        what=f"float64 gradcheck on x {list(size)}, dim={dim}")
    return "gradient = upstream / count on the entries in range, 0 elsewhere; float64 gradcheck passes"


@check("masked_mean", "bool_masks")
def masked_mean_bool_masks(sub, device: str, spec) -> str:
    x = _randn(6, 7, seed=101)
    r = _mean_values(sub, x, -0.5, 1.0, 1, device)
    odd = _int_mask_ops(r)
    if odd:
        op, dtype = odd[0]
        raise Fail(INT_MASKS.format(op=op, dtype=dtype) if op in ("&", "|") else
                   INVERT_INT.format(op=op, dtype=dtype))
    if not r["mask_ops"]:
        raise Fail("no &, | or ~ (nor torch.logical_and/or/not) ran on a mask: the exercise asks you to build the "
                   "mask [lo, hi) from two comparisons combined with & (or ~ and |), e.g. (x >= lo) & (x < hi).")
    ops = sorted({_symbol(name) for name, _ in r["mask_ops"]})
    return f"masks are bool and combined with {', '.join(ops)}"

