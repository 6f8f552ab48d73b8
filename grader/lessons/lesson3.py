"""Lesson 3 (broadcasting): `Merge` and `total_scores` (judge side).

Checks (`@check`) build inputs, call the probes of grader.probes.lesson3 through the runner, compute
PyTorch's answer here and judge. Structure is read from the source first (grader.judging.source_scan,
grader.judging.loops); what the running code does can only take points away.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from grader.engine.checks import Fail, Measured, StudentError, check
from grader.judging.compare import expect_close, shape
from grader.judging.gradients import judge_jacobians
from grader.probes.lesson3 import (
    ACTIVATIONS,
    SPEED,
    probe_merge_forward,
    probe_merge_grads,
    probe_merge_jacobians,
    probe_merge_ops,
    probe_merge_parameters,
    probe_merge_speed,
    probe_merge_training_step,
    probe_repeat_cat_speed,
    probe_total_scores,
    probe_total_scores_grads,
    probe_total_scores_jacobians,
    speed_inputs,
)
from grader.probes.lesson3 import merge_inputs as _merge_inputs


# ------------------------------------------------------------------------------------------------------
# Oracles and diagnosis (judge side)
# ------------------------------------------------------------------------------------------------------
def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def merge_oracle(a, b, w1, b1, w2, b2, activation: str) -> torch.Tensor:
    """The definition Merge must match: tile, concatenate, one Linear, then the activation (float64)."""
    lead = broadcast_shape(a.shape[:-1], b.shape[:-1])
    x = torch.cat([a.double().expand(*lead, -1), b.double().expand(*lead, -1)], dim=-1)
    y = F.linear(x, torch.cat([w1, w2], dim=1).double(), (b1 + b2).double())
    act = ACTIVATIONS[activation]
    return act(y) if act is not None else y


def broadcast_shape(*shapes: tuple[int, ...]) -> list[int]:
    """The broadcast of leading shapes (torch.broadcast_shapes imports sympy: a second per process)."""
    rank = max(len(s) for s in shapes)
    padded = [[1] * (rank - len(s)) + list(s) for s in shapes]
    return [max(sizes) if min(sizes) != 0 else 0 for sizes in zip(*padded)]


def _branchwise(a, b, r, activation: str) -> torch.Tensor:
    act = ACTIVATIONS[activation]
    return act(F.linear(a.double(), r["w1"].double(), r["b1"].double())) + \
        act(F.linear(b.double(), r["w2"].double(), r["b2"].double()))


def judge_merge_forward(r: dict, a, b, activation: str, device: str, what: str) -> None:
    if r["device"] != device:
        raise Fail(f"{what}: inputs were on {device} but the output is on {r['device']}")
    expected = merge_oracle(a, b, r["w1"], r["b1"], r["w2"], r["b2"], activation)
    y = r["y"]
    if list(y.shape) != list(expected.shape):
        raise Fail(f"{what}: expected shape {shape(expected)} (the broadcast of {shape(a.shape[:-1])} and "
                   f"{shape(b.shape[:-1])}, then out_features), got {shape(y)}")
    close = dict(atol=1e-4, rtol=1e-4)
    if not torch.allclose(y.double(), expected, **close):
        act = ACTIVATIONS[activation]
        if act is not None and torch.allclose(y.double(), _branchwise(a, b, r, activation), **close):
            raise Fail(f"{what}: you applied the activation to each branch before adding them. "
                       "Merge computes activation(linear1(a) + linear2(b)): add first, then activate once.")
        if act is not None and torch.allclose(y.double(), merge_oracle(a, b, r["w1"], r["b1"], r["w2"],
                                                                       r["b2"], "none"), **close):
            raise Fail(f"{what}: the activation was never applied; apply it to the sum when it is not None")
    expect_close(y, expected.float(), what=what, **close)


# ------------------------------------------------------------------------------------------------------
# Merge checks
# ------------------------------------------------------------------------------------------------------
@check("Merge", "seed_example")
def merge_seed_example(sub, device: str, spec) -> str:
    a, b = _merge_inputs([5, 3], [5, 1], 5, 6, seed=3)
    r = sub.call(probe_merge_forward, 5, 6, 10, "relu", a, b, device)
    judge_merge_forward(r, a, b, "relu", device, "Merge(5, 6, 10, relu) on a [5, 3, 5] and b [5, 1, 6]")
    return "matches the concatenate-then-Linear definition on the lesson's example"


BROADCAST_CASES = [  # (a leading shape, b leading shape, in1, in2)
    ([7, 4, 2], [4, 1], 8, 3),
    ([6], [1], 5, 6),
    ([], [], 4, 3),
    ([2, 1, 5], [1, 3, 1], 2, 7),
    ([3, 1, 2, 2, 2], [1, 4, 1, 1, 2], 3, 2),
]


@check("Merge", "broadcast_shapes")
def merge_broadcast_shapes(sub, device: str, spec) -> str:
    a, b = _merge_inputs([5, 3], [5, 1], 5, 6, seed=3)
    sub.call(probe_merge_forward, 5, 6, 4, "none", a, b, device)  # the 3-D case must work first
    for a_lead, b_lead, in1, in2 in BROADCAST_CASES:
        a, b = _merge_inputs(a_lead, b_lead, in1, in2, seed=len(a_lead))
        what = f"a {shape(a)} and b {shape(b)}"
        try:
            r = sub.call(probe_merge_forward, in1, in2, 4, "none", a, b, device)
        except StudentError as exc:
            raise Fail(f"{what}: {exc}. It works on 3-D inputs, but Merge must accept any broadcastable "
                       "leading shapes: nn.Linear acts on the last dim of any shape and + broadcasts the "
                       "rest.") from None
        judge_merge_forward(r, a, b, "none", device, what)
    return f"works on {len(BROADCAST_CASES)} broadcastable shape pairs of ranks 1 to 6"


@check("Merge", "activation_after_sum")
def merge_activation_after_sum(sub, device: str, spec) -> str:
    for activation in ("relu", "tanh"):
        a, b = _merge_inputs([4, 3], [4, 1], 5, 6, seed=11)
        r = sub.call(probe_merge_forward, 5, 6, 8, activation, a, b, device)
        judge_merge_forward(r, a, b, activation, device, f"with activation={activation}")
    return "applies the activation once, to the sum"


@check("Merge", "parameters_registered")
def merge_parameters_registered(sub, device: str, spec) -> str:
    in1, in2, out = 5, 6, 4
    expected = out * (in1 + in2) + 2 * out
    p = sub.call(probe_merge_parameters, in1, in2, out)
    missing = [name for name in ("linear1", "linear2") if name not in p["linears"]]
    if not p["names"]:
        raise Fail("Merge.parameters() is empty, so an optimizer has nothing to train. Weights kept as plain "
                   "tensors are not registered: use nn.Linear submodules (or nn.Parameter) in __init__.")
    if missing:
        raise Fail(f"Merge has no nn.Linear submodule named {' or '.join(f'`{m}`' for m in missing)}. Create "
                   "self.linear1 = nn.Linear(in_features1, out_features) and self.linear2 likewise in __init__.")
    if sum(p["numels"]) != expected:
        raise Fail(f"Merge({in1}, {in2}, {out}).parameters() holds {sum(p['numels'])} numbers "
                   f"({', '.join(p['names'])}); it should hold {expected}: two Linear layers with bias. Tensors "
                   "stored as plain attributes or in Python lists are not registered; use nn.Linear or nn.Parameter.")
    a, b = _merge_inputs([3, 2], [3, 1], in1, in2, seed=5)
    r = sub.call(probe_merge_training_step, in1, in2, out, a, b, device)
    if not r["changed"]:
        raise Fail("an optimizer step on Merge.parameters() did not change the output: forward does not use "
                   "the registered parameters")
    return f"{len(r['names'])} parameters registered; an optimizer step updates them"


@check("Merge", "matches_concat_linear")
def merge_matches_concat_linear(sub, device: str, spec) -> str:
    from hypothesis import strategies as st

    from grader.judging.props import for_all
    from grader.judging.strategies import broadcastable_shapes, seeds

    sizes = st.integers(1, 6)
    strategy = st.tuples(broadcastable_shapes(), sizes, sizes, sizes, st.sampled_from(sorted(ACTIVATIONS)),
                         seeds)

    def body(example) -> None:
        (a_lead, b_lead), in1, in2, out, activation, seed = example
        a, b = _merge_inputs(a_lead, b_lead, in1, in2, seed)
        r = sub.call(probe_merge_forward, in1, in2, out, activation, a, b, device)
        judge_merge_forward(r, a, b, activation, device, "output")

    def describe(example) -> str:
        (a_lead, b_lead), in1, in2, out, activation, _ = example
        return f"a {a_lead + [in1]}, b {b_lead + [in2]}, Merge({in1}, {in2}, {out}, activation={activation})"

    n = for_all(strategy, body, max_examples=spec.examples, describe=describe)
    return f"equals concatenate + Linear on {n} drawn shape pairs"


@check("Merge", "gradients")
def merge_gradients(sub, device: str, spec) -> str:
    a, b = _merge_inputs([3, 4], [3, 1], 5, 6, seed=21)
    cotangent = torch.randn(3, 4, 7, generator=_generator(22))
    r = sub.call(probe_merge_grads, 5, 6, 7, "tanh", a, b, cotangent, device)
    judge_merge_forward({**r, "device": device}, a, b, "tanh", device, "the output before backward")
    if not r["requires_grad"]:
        raise Fail("Merge's output does not require grad: did you detach it or use torch.no_grad()?")
    leaves = {"a": a.double().requires_grad_(), "b": b.double().requires_grad_(),
              **{k: r[k].double().requires_grad_() for k in ("w1", "b1", "w2", "b2")}}
    y = merge_oracle(leaves["a"], leaves["b"], leaves["w1"], leaves["b1"], leaves["w2"], leaves["b2"], "tanh")
    (y * cotangent.double()).sum().backward()
    labels = {"a": "input a", "b": "input b", "w1": "linear1.weight", "b1": "linear1.bias",
              "w2": "linear2.weight", "b2": "linear2.bias"}
    for key, label in labels.items():
        got = r["grads"][key]
        if got is None:
            raise Fail(f"no gradient reached {label}: it is not part of the autograd graph of the output")
        expect_close(got, leaves[key].grad.float(), what=f"gradient w.r.t. {label}", atol=1e-4, rtol=1e-4)
    a64, b64 = (t.double() for t in _merge_inputs([2, 3], [2, 1], 3, 2, seed=23))
    result = sub.call(probe_merge_jacobians, a64, b64, 2, device)
    judge_jacobians(result, ["a", "b", "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias"],
                    what="float64 gradcheck")
    return "gradients for a, b and all parameters match; float64 gradcheck passes"


_TILING_OPS = {"repeat", "repeat_interleave", "tile"}


def _forward_source(sub) -> tuple[str | None, Callable[[str], str | None]]:
    """Merge.forward's source without `self` (so its arguments read as the batch tensors), and a lookup
    for the submission's top-level helpers; (None, lookup) when the source cannot be read."""
    import ast

    lookup = sub.source
    source = lookup("Merge")
    if source is None:
        return None, lookup
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None, lookup
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "forward" and node.args.args:
            node.args.args = node.args.args[1:]
            return ast.unparse(node), lookup
    return None, lookup


def _recorded(sub, a, b, out: int, device: str) -> list:
    """The ops of one forward pass, once its values are right (recordings of wrong code judge nothing)."""
    r = sub.call(probe_merge_ops, a, b, out, device)
    judge_merge_forward({**r, "device": device}, a, b, "relu", device, f"a {shape(a)} and b {shape(b)}")
    if not r["ops"]:
        raise Fail("no tensor operation was observed while Merge.forward ran, yet it returned the right values: "
                   "the grader cannot see how it computes. Compute with ordinary PyTorch operations.")
    return r["ops"]


@check("Merge", "no_tiled_intermediate")
def merge_no_tiled_intermediate(sub, device: str, spec) -> str:
    from grader.judging.source_scan import attribute_calls

    source = sub.source("Merge")
    if source is not None:
        found = attribute_calls(source, sub.source, _TILING_OPS)
        if found:
            function, line, code = found[0]
            raise Fail(f"Merge calls a tiling op at line {line} of {function} (`{code}`): it copies b along the "
                       "broadcast dims. Apply each Linear to its own input and add the results; broadcasting "
                       "expands without copying.")
    in1, in2, out = 3, 40, 5
    a, b = _merge_inputs([4, 64], [4, 1], in1, in2, seed=31)
    ops = _recorded(sub, a, b, out, device)
    broadcast = 4 * 64
    largest_needed = max(a.numel(), b.numel(), broadcast * out)
    for name, shapes in ops:
        if name in _TILING_OPS:
            raise Fail(f"Merge.forward calls {name}, which copies b along the broadcast dims. Apply each "
                       "Linear to its own input and add the results; broadcasting expands without copying.")
        for s in shapes:
            if math.prod(s) > largest_needed:
                kind = "concatenated" if name in ("cat", "stack", "concat") else "tiled"
                raise Fail(f"Merge.forward materialized a {kind} tensor of shape {s} (by aten.{name}) for "
                           f"a {shape(a)} and b {shape(b)}. Nothing larger than the output "
                           f"[4, 64, {out}] is needed: project each input, then add and let broadcasting "
                           "do the tiling for free.")
    return f"no tiling in the code and no tensor larger than the output among {len(ops)} operations"


@check("Merge", "no_python_loop")
def merge_no_python_loop(sub, device: str, spec) -> str:
    from grader.judging.loops import batch_loops

    source, lookup = _forward_source(sub)
    if source is not None:
        loops = batch_loops(source, lookup)
        if loops:
            raise Fail(f"Merge.forward loops over the batch in Python ({loops[0].describe()}). Let nn.Linear "
                       "and broadcasting process every row in one call.")
    counts = {}
    for batch in (2, 16):
        a, b = _merge_inputs([batch, 4], [batch, 1], 3, 5, seed=batch)
        counts[batch] = len(_recorded(sub, a, b, 4, device))
    if counts[16] > counts[2]:
        raise Fail(f"Merge.forward runs {counts[2]} tensor operations for a batch of 2 but {counts[16]} for a "
                   "batch of 16: it loops over the batch in Python. Let nn.Linear and broadcasting process "
                   "every row in one call.")
    return f"no loop over the batch in the code; {counts[2]} operations whatever the batch size"


@check("Merge", "speed_vs_repeat_cat")
def merge_speed_vs_repeat_cat(sub, device: str, spec) -> str:
    from grader.judging.speed import compare_speed, expect_sampled

    def verify(weights, seed, flat_index, picks) -> None:
        a, b = speed_inputs(seed)
        expected = merge_oracle(a, b, weights["w1"], weights["b1"], weights["w2"], weights["b2"], "none")
        expect_sampled(picks[0], expected, flat_index, what="Merge", atol=1e-3, rtol=1e-3)

    numel = math.prod(SPEED["a"]) * SPEED["out"]
    needed = spec.threshold("min_speedup", device)
    times = compare_speed(sub, probe=probe_merge_speed, baseline=probe_repeat_cat_speed, device=device,
                          repeats=SPEED["repeats"], baseline_repeats=SPEED["baseline_repeats"], numel=numel,
                          verify=verify, slowdown_limit=1 / needed)
    ratio = times["baseline"] / times["submission"]
    measured = (f"{ratio:.1f}x faster than repeat + cat (submission {times['submission'] * 1e3:.3f} ms, "
                f"repeat + cat {times['baseline'] * 1e3:.2f} ms, timed by the grader; needs >= {needed:g}x)")
    if ratio < needed:
        raise Fail(f"only {measured}. Broadcasting should avoid the tiled copy of b entirely.", measured=ratio)
    return Measured(measured, ratio)


# ------------------------------------------------------------------------------------------------------
# total_scores checks
# ------------------------------------------------------------------------------------------------------
def total_scores_oracle(item_scores: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return item_scores.sum(dim=(1, 2)) + bias


def _scores(batch: int, items: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = _generator(seed)
    return torch.randn(batch, items, 1, generator=g), torch.randn(batch, generator=g)


def judge_total_scores(r: dict, item_scores, bias, device: str, what: str) -> None:
    if r["device"] != device:
        raise Fail(f"{what}: inputs were on {device} but the output is on {r['device']}")
    y, expected = r["y"], total_scores_oracle(item_scores, bias)
    batch = item_scores.shape[0]
    if y.dim() == 0:
        raise Fail(f"{what}: you returned a single number, the sum over every dim. Reduce over the items "
                   "only (pass dim=...) so each example keeps its own total.")
    if list(y.shape) == [batch, batch] and batch > 1:
        raise Fail(f"{what}: got shape {shape(y)}. Your per-example sums kept a size-1 dim ([{batch}, 1]) that "
                   f"broadcast against bias [{batch}], the `sum(a + b) = 12` pitfall. Name the dim you "
                   "reduce or squeeze, e.g. squeeze(-1), before adding the bias.")
    if list(y.shape) == list(expected.shape) and batch > 1 and \
            torch.allclose(y, item_scores.sum() + bias, atol=1e-4, rtol=1e-4):
        raise Fail(f"{what}: every example got the total over the whole batch: you summed without naming "
                   "dim, so the batch dim was reduced too. Pass dim=1 (the items).")
    expect_close(y, expected, what=what, atol=1e-4, rtol=1e-4)


@check("total_scores", "per_example_values")
def total_scores_per_example_values(sub, device: str, spec) -> str:
    item_scores, bias = _scores(3, 4, seed=51)
    r = sub.call(probe_total_scores, item_scores, bias, device)
    judge_total_scores(r, item_scores, bias, device, "item_scores [3, 4, 1], bias [3]")
    return "one total per example"


@check("total_scores", "singleton_dims")
def total_scores_singleton_dims(sub, device: str, spec) -> str:
    item_scores, bias = _scores(3, 4, seed=51)  # the general case must work first
    judge_total_scores(sub.call(probe_total_scores, item_scores, bias, device), item_scores, bias, device,
                       "item_scores [3, 4, 1], bias [3]")
    for batch, items in ((1, 4), (3, 1), (1, 1)):
        item_scores, bias = _scores(batch, items, seed=52 + batch + items)
        what = f"item_scores {shape(item_scores)}, bias {shape(bias)}"
        try:
            r = sub.call(probe_total_scores, item_scores, bias, device)
            judge_total_scores(r, item_scores, bias, device, what)
        except (StudentError, Fail) as exc:
            raise Fail(f"{what}: {exc}. It works when no dim is 1, which points at a bare squeeze(): "
                       "without a dim it also drops the batch or item dim when its size is 1. Name the "
                       "dim: squeeze(-1).") from None
    return "correct when the batch or the item count is 1"


@check("total_scores", "matches_oracle")
def total_scores_matches_oracle(sub, device: str, spec) -> str:
    from hypothesis import strategies as st

    from grader.judging.props import for_all
    from grader.judging.strategies import seeds

    def body(example) -> None:
        batch, items, seed = example
        item_scores, bias = _scores(batch, items, seed)
        r = sub.call(probe_total_scores, item_scores, bias, device)
        judge_total_scores(r, item_scores, bias, device, "output")

    n = for_all(st.tuples(st.integers(1, 8), st.integers(1, 8), seeds), body, max_examples=spec.examples,
                describe=lambda e: f"item_scores [{e[0]}, {e[1]}, 1], bias [{e[0]}]")
    return f"matches item_scores.sum(dim=(1, 2)) + bias on {n} drawn shapes"


@check("total_scores", "gradients")
def total_scores_gradients(sub, device: str, spec) -> str:
    item_scores, bias = _scores(3, 2, seed=61)
    cotangent = torch.randn(3, generator=_generator(62))
    r = sub.call(probe_total_scores_grads, item_scores, bias, cotangent, device)
    judge_total_scores({**r, "device": device}, item_scores, bias, device, "the output before backward")
    if not r["requires_grad"]:
        raise Fail("total_scores' output does not require grad: did you detach it or use torch.no_grad()?")
    leaves = {"item_scores": item_scores.double().requires_grad_(), "bias": bias.double().requires_grad_()}
    (total_scores_oracle(leaves["item_scores"], leaves["bias"]) * cotangent.double()).sum().backward()
    for key, leaf in leaves.items():
        got = r["grads"][key]
        if got is None:
            raise Fail(f"no gradient reached {key}: it is not part of the autograd graph of the output")
        expect_close(got, leaf.grad.float(), what=f"gradient w.r.t. {key} (compared with torch's)",
                     atol=1e-4, rtol=1e-4)
    item_scores, bias = (t.double() for t in _scores(3, 2, seed=61))
    result = sub.call(probe_total_scores_jacobians, item_scores, bias, device)
    judge_jacobians(result, ["item_scores", "bias"], what="float64 gradcheck")
    return "gradients equal torch's; float64 gradcheck passes"
