"""Lesson 7 (numerical stability): `softmax`, `log_softmax`, `softmax_cross_entropy`, `cross_entropy`.

Judge side. Checks (`@check`) build inputs, call the probes of grader.probes.lesson7 through the runner,
compute PyTorch's answer here in float64 and judge.

Tolerances: a stable float implementation is exact for slightly perturbed logits (each logit moved by a
few units in the last place, eps * |x|) up to a few roundings of its own result. So the error allowed on
a row whose largest |logit| is R, in units of the input dtype's eps (2**-23 float32, 2**-10 float16,
2**-7 bfloat16), with ULPS = 8:
- probabilities (softmax):      |p - p64| <= ULPS * eps * (p64 * (1 + R) + tiny), and each row sums to 1
                                within min(ULPS * eps * (1 + log2(n) + R), SUM_CAP) (it must stay a
                                distribution even where R is huge);
- log-space results (log_softmax, the losses): |y - y64| <= ULPS * eps * (|y64| + (1 + R) * sum(labels));
- gradients (float32): ULPS * eps * (|g64| + p64 * (1 + R) * |cotangent| terms + (1 + log2 n) * the row's
  L1 norm of g64), the last for the sums over a row that a backward pass takes (e.g. through the max).
Measured on every input the checks use plus 60 drawn ones: the reference, two correct alternatives
(tests/submissions/lesson7/alt_*.py) and torch's own functions in the same dtype use at most 0.25 of the
value budget, 0.10 of the sum budget and 0.11 of the gradient budget. Every mistake the checks name is off
by orders of magnitude more, or by nan/inf.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from grader.engine.checks import Fail, Measured, StudentError, check
from grader.judging.compare import shape
from grader.judging.gradients import judge_jacobians
from grader.probes.lesson7 import (
    REDUCE_MAX,  # noqa: F401 - part of the lesson's messages
    SPEED,
    base_name,
    probe_builtin_loss_speed,
    probe_calls,
    probe_gradient,
    probe_jacobians,
    probe_loss_speed,
    probe_op_shapes,
    probe_values,
    speed_case,
)

ULPS = 8
SUM_CAP = 0.05
EXERCISES = ("softmax", "log_softmax", "softmax_cross_entropy", "cross_entropy")

# Built-ins that would do the exercise for the student. Names as torch reports them, "special_" dropped.
_ALWAYS_FORBIDDEN = {"softmax", "_softmax", "log_softmax", "_log_softmax", "softmin", "gumbel_softmax",
                     "cross_entropy", "cross_entropy_loss", "nll_loss", "nll_loss_nd", "nll_loss2d",
                     "kl_div"}
FORBIDDEN = {
    "softmax": _ALWAYS_FORBIDDEN | {"logsumexp"},
    "log_softmax": _ALWAYS_FORBIDDEN | {"logsumexp"},
    "softmax_cross_entropy": _ALWAYS_FORBIDDEN,
    "cross_entropy": _ALWAYS_FORBIDDEN,
}
# nn modules that call the forbidden functions (read from the source: nn.Softmax(dim=1)(x)).
_FORBIDDEN_MODULES = {"Softmax", "LogSoftmax", "Softmin", "CrossEntropyLoss", "NLLLoss", "KLDivLoss"}
_CLAMPS = {"clamp", "clamp_", "clamp_min", "clamp_max", "clamp_min_", "clamp_max_", "clip", "clip_",
           "nan_to_num", "nan_to_num_"}

# Known mistakes. Those whose usual symptom is nan/inf also say what happens when this input stayed finite:
# a hint must describe the failure actually observed (`_symptom`).
OVERFLOW = ("The exponential overflowed: in float32, exp(x) is inf for x above ln(3.4e38) ~ 88.7 (in float16 above "
            "ln(65504) ~ 11.1), and inf/inf is nan. Subtract the largest logit along `dim` before exp: "
            "softmax(x) = softmax(x - max(x)).")
OVERFLOW_FINITE = ("You took exp of the raw logits. Nothing overflowed on this input, but the exponentials of "
                   "logits far from 0 lose precision at the edges of the float range, and above ~88.7 in float32 "
                   "(~11.1 in float16) they overflow to inf and give nan. Subtract the largest logit along `dim` "
                   "before exp: softmax(x) = softmax(x - max(x)).")
GLOBAL_MAX = ("You subtracted one max over the whole tensor (torch.max(logits) or logits.max() without a "
              "dim). A row whose logits sit far below that overall max underflows to exp(...) = 0 "
              "everywhere, and 0/0 is nan (log(0) is -inf). Subtract a per-row max: "
              "logits.amax(dim=dim, keepdim=True).")
GLOBAL_MAX_FINITE = ("You subtracted one max over the whole tensor (torch.max(logits) or logits.max() without a "
                     "dim). Nothing became nan on this input, but a row whose logits sit below that overall max "
                     "computes its exponentials near the bottom of the float range, where small ones lose their "
                     "digits; a row far enough below underflows to 0 everywhere and gives 0/0 = nan. Subtract a "
                     "per-row max: logits.amax(dim=dim, keepdim=True).")
LOG_OF_SOFTMAX = ("You took log(softmax(x)): a probability that underflows to 0 has log -inf (and 0 * -inf "
                  "is nan), although log-softmax itself is finite. Stay in log space: log_softmax(x) = "
                  "(x - m) - log(sum(exp(x - m))), m the max along dim.")
LOG_OF_SOFTMAX_FINITE = ("You took log(softmax(x)). Nothing became -inf on this input, but a small probability "
                         "keeps few digits (or becomes a subnormal), so its log is imprecise; one that underflows "
                         "to 0 gives -inf. Stay in log space: log_softmax(x) = (x - m) - log(sum(exp(x - m))), m "
                         "the max along dim.")
_WHEN_FINITE = {OVERFLOW: OVERFLOW_FINITE, GLOBAL_MAX: GLOBAL_MAX_FINITE, LOG_OF_SOFTMAX: LOG_OF_SOFTMAX_FINITE}
SOFTMAX_FIRST = ("You applied softmax to the logits before the cross-entropy. Cross-entropy already "
                 "contains the log-softmax (nn.CrossEntropyLoss does too): give it the raw logits.")
ADDED_BACK = ("You subtracted m + log(sum(exp(x - m))) from x in one go (x - logsumexp(x)): next to a large max m "
              "the log(sum), at most log(n), is lost in rounding (the float32 spacing near 1e30 is 7.6e22, the "
              "bfloat16 spacing near 300 is 2), so the result no longer normalizes. Subtract the max first and do "
              "not add it back: (x - m) - log(sum(exp(x - m))).")
CLAMP = ("Your code calls clamp/clip (or nan_to_num): that hides the overflow but changes the result where it "
         "is active, and no gradient flows through a clamped value. Use the max-subtraction / log-sum-exp form.")


# ------------------------------------------------------------------------------------------------------
# Inputs, oracles, tolerances and diagnosis (judge side)
# ------------------------------------------------------------------------------------------------------
def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def class_dim(name: str, case: dict) -> int:
    """The dim that holds the classes, as a non-negative index."""
    if name == "cross_entropy":
        return 1
    dim = -1 if case.get("dim") is None else case["dim"]
    return dim % case["logits"].dim()


def make_case(name: str, logits: torch.Tensor, dim: int | None = None, seed: int = 0,
              one_hot: bool = False) -> dict:
    """Inputs for exercise `name`: the logits plus soft labels or class targets drawn to match."""
    case = {"logits": logits, "dim": dim}
    g = _generator(seed)
    if name == "softmax_cross_entropy":
        d = dim if dim is not None else -1
        if one_hot:
            index = torch.randint(0, logits.shape[d], logits.movedim(d, -1).shape[:-1], generator=g)
            labels = F.one_hot(index, logits.shape[d]).movedim(-1, d).to(logits.dtype)
        else:
            weights = torch.rand(logits.shape, generator=g, dtype=torch.float64) ** 3 + 1e-3
            labels = (weights / weights.sum(d, keepdim=True)).to(logits.dtype)
        case["labels"] = labels
    elif name == "cross_entropy":
        case["targets"] = torch.randint(0, logits.shape[1], (logits.shape[0], *logits.shape[2:]), generator=g)
    return case


def oracle(name: str, case: dict) -> torch.Tensor:
    """PyTorch's own answer in float64."""
    x, d = case["logits"].double(), class_dim(name, case)
    if name == "softmax":
        return torch.softmax(x, d)
    if name == "log_softmax":
        return torch.log_softmax(x, d)
    if name == "softmax_cross_entropy":
        labels = case["labels"].double()
        if x.dim() == 1:  # F.cross_entropy's unbatched form
            return F.cross_entropy(x, labels, reduction="none")
        return F.cross_entropy(x.movedim(d, 1), labels.movedim(d, 1), reduction="none")
    return F.cross_entropy(x, case["targets"])


def _row_scale(name: str, case: dict) -> torch.Tensor:
    """R: the largest |logit| of each row (keepdim along the class dim), float64."""
    return case["logits"].double().abs().amax(class_dim(name, case), keepdim=True)


def tolerance(name: str, case: dict, expected: torch.Tensor) -> torch.Tensor:
    """Elementwise allowed |error| of the result (see the module docstring)."""
    eps, tiny = torch.finfo(case["logits"].dtype).eps, torch.finfo(case["logits"].dtype).tiny
    d, scale = class_dim(name, case), 1 + _row_scale(name, case)
    if name == "softmax":
        return ULPS * eps * (expected * scale + tiny)
    if name == "log_softmax":
        return ULPS * eps * (expected.abs() + scale)
    if name == "softmax_cross_entropy":
        mass = case["labels"].double().abs().sum(d)
        return ULPS * eps * (expected.abs() + scale.squeeze(d) * mass + tiny)
    return ULPS * eps * (expected.abs() + scale.mean() + tiny)


def variants(name: str, case: dict) -> list[tuple[str, torch.Tensor]]:
    """Known mistakes computed here in the input's dtype, each with the message that names it."""
    x, d = case["logits"], class_dim(name, case)
    exp = x.exp()
    unstable = exp / exp.sum(d, keepdim=True)
    shifted = x - x.amax(d, keepdim=True)
    stable = shifted.exp() / shifted.exp().sum(d, keepdim=True)
    log_sm = shifted - shifted.exp().sum(d, keepdim=True).log()
    global_shift = x - x.max()
    global_log_sm = global_shift - global_shift.exp().sum(d, keepdim=True).log()
    m = x.amax(d, keepdim=True)
    added_back = x - (m + shifted.exp().sum(d, keepdim=True).log())
    if name == "softmax":
        return [(OVERFLOW, unstable), (GLOBAL_MAX, global_shift.exp() / global_shift.exp().sum(d, keepdim=True)),
                (ADDED_BACK, added_back.exp())]
    if name == "log_softmax":
        return [(LOG_OF_SOFTMAX, stable.log()), (OVERFLOW, unstable.log()),
                (OVERFLOW, x - exp.sum(d, keepdim=True).log()), (GLOBAL_MAX, global_log_sm), (ADDED_BACK, added_back)]
    if name == "softmax_cross_entropy":
        labels = case["labels"]

        def loss(lp: torch.Tensor) -> torch.Tensor:
            return -(labels * lp).sum(d)
    else:
        targets = case["targets"]

        def loss(lp: torch.Tensor) -> torch.Tensor:
            return -lp.gather(1, targets.unsqueeze(1)).mean()

    found = [(LOG_OF_SOFTMAX, loss(stable.log())), (OVERFLOW, loss(unstable.log())),
             (OVERFLOW, loss(x - exp.sum(d, keepdim=True).log())), (GLOBAL_MAX, loss(global_log_sm)),
             (SOFTMAX_FIRST, loss(stable - stable.exp().sum(d, keepdim=True).log()))]
    if name == "cross_entropy":
        found.append(("You summed the per-example losses; cross_entropy returns their mean, as "
                      "F.cross_entropy does by default (reduction='mean').",
                      -log_sm.gather(1, case["targets"].unsqueeze(1)).sum()))
        if x.dim() > 2:
            last = x - x.amax(-1, keepdim=True)
            found.append(("You normalized over the last dim, but the classes are on dim 1 (logits [N, C, ...], "
                          "as in F.cross_entropy): take the log-softmax along dim 1.",
                          loss(last - last.exp().sum(-1, keepdim=True).log())))
    return found


def _diagnose(name: str, case: dict, y: torch.Tensor, expected: torch.Tensor, calls: list[str]) -> str:
    """The message of the first known mistake that reproduces `y`, else ''."""
    tol = tolerance(name, case, expected)
    for message, wrong in variants(name, case):
        if wrong.shape != expected.shape or acceptable(name, case, wrong, expected, tol):
            continue  # this mistake would not show on these inputs
        wrong = wrong.double()
        if torch.allclose(y.double(), wrong, rtol=1e-3, atol=1e-6, equal_nan=True):
            return _symptom(message, y, expected)
    if any(base_name(c) in _CLAMPS for c in calls):
        return CLAMP
    return ""


def _symptom(message: str, y: torch.Tensor, expected: torch.Tensor) -> str:
    """`message`, in its finite form when the student's result has no nan/inf where the exact one is finite."""
    nonfinite = ~torch.isfinite(y.double()) & torch.isfinite(expected)
    return message if bool(nonfinite.any()) else _WHEN_FINITE.get(message, message)


def acceptable(name: str, case: dict, y: torch.Tensor, expected: torch.Tensor, tol: torch.Tensor) -> bool:
    """Would judge_values accept `y` (already of the right shape)?"""
    if name in ("softmax", "log_softmax") and _sums_message(name, case, y):
        return False
    return _within(y, expected, tol)


def _within(y: torch.Tensor, expected: torch.Tensor, tol: torch.Tensor) -> bool:
    diff = (y.double() - expected).abs()
    return bool(torch.isfinite(y).all() and (diff <= tol).all())


def _describe_worst(y: torch.Tensor, expected: torch.Tensor, tol: torch.Tensor) -> str:
    excess = torch.nan_to_num((y.double() - expected).abs() / tol, nan=float("inf"))
    excess = torch.where(torch.isfinite(y) | ~torch.isfinite(expected), excess, torch.full_like(excess, math.inf))
    index = tuple(int(i) for i in torch.unravel_index(excess.argmax(), excess.shape)) if excess.dim() else ()
    where = f" at index {list(index)}" if index else ""
    return (f"got {y[index].item():.6g}{where}, expected {expected[index].item():.6g} "
            f"(allowed error {tol[index].item():.2g})")


def _dim_label(case: dict) -> str:
    return f"dim={-1 if case.get('dim') is None else case['dim']}"


def _expected_shape(name: str, case: dict) -> list[int]:
    x = case["logits"]
    if name in ("softmax", "log_softmax"):
        return list(x.shape)
    if name == "cross_entropy":
        return []
    d = class_dim(name, case)
    return [s for i, s in enumerate(x.shape) if i != d]


def _shape_message(name: str, case: dict, got: list[int]) -> str:
    x, d = case["logits"], class_dim(name, case)
    expected = _expected_shape(name, case)
    hint = ""
    if name == "softmax_cross_entropy":
        if got == [] and expected:
            hint = (" You returned one number: the sum over every dim, as in the notes' `-torch.sum(labels * "
                    "...)`. Sum only along `dim`, so each example keeps its own loss.")
        elif got == list(x.shape):
            hint = " You did not reduce `dim`: sum labels * log-probabilities along it."
        elif got == [1 if i == d else s for i, s in enumerate(x.shape)]:
            hint = " You kept `dim` as a size-1 dim (keepdim=True); it must be removed."
        else:
            other = [i for i in range(x.dim()) if i != d and got == [s for j, s in enumerate(x.shape) if j != i]]
            if other:
                hint = f" You reduced dim {other[0]}, not {_dim_label(case)}: sum along `dim`."
    elif name == "cross_entropy" and got:
        per_example = [x.shape[0], *x.shape[2:]]
        if got == per_example:
            hint = (" You returned one loss per example; cross_entropy returns their mean (F.cross_entropy's "
                    "default reduction='mean').")
        else:
            hint = (f" One loss per example would be {per_example}, and cross_entropy returns their mean, a "
                    "single number: average over every dim except the classes (dim 1), after taking the class "
                    "out at dim 1.")
    return f"expected shape {expected}, got {got}.{hint}"


def _sums_message(name: str, case: dict, y: torch.Tensor) -> str:
    """For softmax/log_softmax: where the student's rows are not normalized along dim, say along what."""
    probs = y.double() if name == "softmax" else y.double().exp()
    d = class_dim(name, case)
    n = probs.shape[d]
    eps = torch.finfo(case["logits"].dtype).eps
    cap = min(ULPS * eps * (1 + math.log2(max(n, 1)) + _row_scale(name, case).max().item()), SUM_CAP)
    if not torch.isfinite(probs).all():
        return ""
    deviation = (probs.sum(d) - 1).abs().max().item()
    if deviation <= cap:
        return ""
    along = [i for i in range(probs.dim()) if i != d and probs.shape[i] > 1
             and (probs.sum(i) - 1).abs().max().item() <= max(cap, 1e-3)]
    what = "probabilities" if name == "softmax" else "exp(log-probabilities)"
    if along:
        return (f"your {what} sum to 1 along dim {along[0]}, not along {_dim_label(case)}: reduce "
                "(max and sum) along `dim`, with keepdim=True so the result broadcasts back.")
    if probs.dim() > 1 and abs(probs.sum().item() - 1) <= max(cap, 1e-3):
        return (f"your {what} sum to 1 over the whole tensor, not along {_dim_label(case)}: pass "
                "dim=dim (and keepdim=True) to the sum.")
    total = 1 + deviation if probs.sum(d).max() > 1 else 1 - deviation
    return f"each row must be a probability distribution along {_dim_label(case)}, but a row of your {what} sums " \
           f"to {total:.6g}."


def judge_values(name: str, case: dict, r: dict, device: str, what: str) -> None:
    y, x = r["y"], case["logits"]
    if r["device"] != device:
        raise Fail(f"{what}: inputs were on {device} but the result is on {r['device']}")
    if list(y.shape) != _expected_shape(name, case):
        raise Fail(f"{what}: {_shape_message(name, case, list(y.shape))}")
    if y.dtype != x.dtype:
        raise Fail(f"{what}: the logits are {x.dtype} but the result is {y.dtype}; return the logits' dtype "
                   "(compute in a wider dtype inside if you like, then convert back).")
    expected = oracle(name, case)
    tol = tolerance(name, case, expected)
    representable = expected.abs() <= torch.finfo(x.dtype).max  # else inf is the correctly rounded answer
    bad = ~torch.isfinite(y) & representable
    if bad.any():
        index = tuple(int(i) for i in bad.nonzero()[0])
        where = f" at index {list(index)}" if index else ""
        diagnosis = _diagnose(name, case, y, expected, r["calls"])
        raise Fail(f"{what}: got {y[index].item()}{where} where the exact result is {expected[index].item():.6g}. "
                   + (diagnosis or "Keep every intermediate finite: subtract the per-row max and stay in "
                                   "log space (no log of a probability, no exp of a raw logit)."))
    if name in ("softmax", "log_softmax"):
        message = _sums_message(name, case, y)
        if message:
            diagnosis = _diagnose(name, case, y, expected, r["calls"])
            raise Fail(f"{what}: {message}" + (f" {diagnosis}" if diagnosis else ""))
    if not _within(y, expected, tol):
        diagnosis = _diagnose(name, case, y, expected, r["calls"])
        raise Fail(f"{what}: values differ from torch's: {_describe_worst(y, expected, tol)}."
                   + (f" {diagnosis}" if diagnosis else ""))


def gradient_oracle(name: str, case: dict, cotangent: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """d(sum(f(logits) * cotangent))/d logits in float64, and its allowed error."""
    x = case["logits"].detach().double().requires_grad_(True)
    full = dict(case, logits=x)
    y = oracle(name, full)
    (y * cotangent.double()).sum().backward()
    g = x.grad
    eps, tiny = torch.finfo(case["logits"].dtype).eps, torch.finfo(case["logits"].dtype).tiny
    d = class_dim(name, case)
    with torch.no_grad():
        p = torch.softmax(x, d)
        scale = 1 + _row_scale(name, case)
        v = cotangent.double().abs()
        if name == "softmax":
            budget = p * scale * 2 * v.amax(d, keepdim=True)
        elif name == "log_softmax":
            budget = v + p * scale * v.sum(d, keepdim=True)
        elif name == "softmax_cross_entropy":
            labels = case["labels"].double().abs()
            budget = v.unsqueeze(d) * (p * scale * labels.sum(d, keepdim=True) + labels)
        else:
            onehot = F.one_hot(case["targets"], x.shape[1]).movedim(-1, 1).double()
            budget = v * (p * scale + onehot) / case["targets"].numel()
        # a sum over the row in the backward pass (e.g. through the max) errs by ~ eps * log2(n) * its L1 norm
        budget = budget + g.abs().sum(d, keepdim=True) * (1 + math.log2(x.shape[d]))
    return g, ULPS * eps * (g.abs() + budget + tiny)


def judge_gradient(name: str, case: dict, cotangent: torch.Tensor, r: dict, what: str) -> None:
    if not r["requires_grad"]:
        raise Fail(f"{what}: the result does not require grad, so no gradient reaches the logits. Did you "
                   "detach it, call .item()/.numpy(), or compute under torch.no_grad()?")
    got = r["grad"]
    if got is None:
        raise Fail(f"{what}: no gradient reached the logits: the result is not computed from them")
    expected, tol = gradient_oracle(name, case, cotangent)
    if list(got.shape) != list(expected.shape):
        raise Fail(f"{what}: the gradient has shape {shape(got)}, the logits {shape(expected)}")
    hint = _diagnose(name, case, r["y"], oracle(name, case), r["calls"])
    hint = f" {hint}" if hint else ""
    bad = ~torch.isfinite(got)
    if bad.any():
        index = tuple(int(i) for i in bad.nonzero()[0])
        raise Fail(f"{what}: the gradient is {got[index].item()} at index {list(index)} where it is "
                   f"{expected[index].item():.6g}. An intermediate overflowed or hit log(0) in the backward "
                   "pass; the max-subtraction / log-sum-exp form keeps every intermediate finite." + hint)
    if not _within(got, expected, tol):
        vanished = bool(((got == 0) & (expected.abs() > tol)).any())
        why = (" The gradient is exactly 0 where it should not be: something in the forward pass passes no "
               "gradient there." if vanished else "")
        raise Fail(f"{what}: the gradient w.r.t. the logits differs from torch's: "
                   f"{_describe_worst(got, expected, tol)}.{why}{hint}")


# ------------------------------------------------------------------------------------------------------
# The inputs of each check
# ------------------------------------------------------------------------------------------------------
def _randn(*size: int, seed: int, scale: float = 3.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return (torch.randn(*size, generator=_generator(seed), dtype=torch.float64) * scale).to(dtype)


def seed_cases(name: str) -> list[tuple[str, dict]]:
    if name == "softmax":
        return [("softmax([1000., 0.]) (the notes' example)", make_case(name, torch.tensor([1000.0, 0.0]))),
                ("a batch [[1., 2., 3.], [1000., 0., -1000.]]",
                 make_case(name, torch.tensor([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]])))]
    if name == "log_softmax":
        return [("log_softmax([1000., 0.])", make_case(name, torch.tensor([1000.0, 0.0]))),
                ("a batch [[1., 2., 3.], [1000., 0., -1000.]]",
                 make_case(name, torch.tensor([[1.0, 2.0, 3.0], [1000.0, 0.0, -1000.0]])))]
    if name == "cross_entropy":
        case = make_case(name, torch.tensor([[1000.0, 0.0], [0.0, 1000.0]]))
        case["targets"] = torch.tensor([1, 1])
        return [("logits [[1000., 0.], [0., 1000.]] with targets [1, 1]", case)]
    case = make_case(name, torch.tensor([1000.0, 0.0]))
    case["labels"] = torch.tensor([0.5, 0.5])
    return [("labels [0.5, 0.5], logits [1000., 0.] (the notes' example)", case)]


def extreme_cases(name: str, *, large: bool = True) -> list[tuple[str, dict]]:
    """Logits at the edges of float32, each with a name for messages; `large` adds a [4096, 256] batch."""
    g = _generator(71)
    signs = torch.randint(-1, 2, (6, 10), generator=g).double()
    jitter = torch.randn(6, 10, generator=g, dtype=torch.float64)
    cases = [
        ("logits of +-1e4", 1e4 * signs + 3 * jitter),
        ("logits of +-1e30", 1e30 * signs * (1 + torch.rand(6, 10, generator=g, dtype=torch.float64))),
        ("one logit of 1e30 among ordinary ones", torch.cat([torch.full((6, 1), 1e30), 3 * jitter[:, 1:]], 1)),
        ("logits all equal (0, 50, -1e4, 1e4, -1e30, 1e30 per row)",
         torch.tensor([0.0, 50.0, -1e4, 1e4, -1e30, 1e30], dtype=torch.float64)[:, None].expand(6, 10)),
    ]
    if large:
        cases.append(("a large batch [4096, 256] with row scales from 1 to 1e4",
                      torch.randn(4096, 256, generator=g, dtype=torch.float64)
                      * 10 ** (4 * torch.rand(4096, 1, generator=g, dtype=torch.float64))))
    return [(label, make_case(name, x.float().contiguous(), seed=i)) for i, (label, x) in enumerate(cases)]


def row_scale_cases(name: str) -> list[tuple[str, dict]]:
    """Rows whose scales differ by far more than 100: one max for the whole batch breaks them."""
    base = torch.arange(8, dtype=torch.float64) - 4
    far = torch.stack([base + 1000, base, base - 1000, 3 * base + 150])
    x = far.float()
    return [("rows around 1000, 0, -1000 and 150 (scales differing by more than 100)", make_case(name, x, seed=81)),
            ("the same rows, soft labels one-hot" if name == "softmax_cross_entropy" else "the same rows, reversed",
             make_case(name, x.flip(0).contiguous(), seed=82, one_hot=True))]


def non_last_dim_cases(name: str) -> list[tuple[str, dict]]:
    if name == "cross_entropy":
        return [("logits [4, 6, 5] (classes on dim 1) and targets [4, 5]", make_case(name, _randn(4, 6, 5, seed=91))),
                ("logits [3, 5, 2, 4] and targets [3, 2, 4]", make_case(name, _randn(3, 5, 2, 4, seed=92))),
                ("logits [4, 6, 5] of +-1e4", make_case(name, _randn(4, 6, 5, seed=93, scale=1e4)))]
    return [("logits [5, 7] with dim=0", make_case(name, _randn(5, 7, seed=91), dim=0)),
            ("logits [3, 5, 4] with dim=1", make_case(name, _randn(3, 5, 4, seed=92), dim=1)),
            ("logits [3, 5, 4] with dim=-2", make_case(name, _randn(3, 5, 4, seed=93), dim=-2)),
            ("logits [2, 3, 6] with dim=2", make_case(name, _randn(2, 3, 6, seed=94), dim=2)),
            ("logits [6, 3] of +-1e4 with dim=0", make_case(name, _randn(6, 3, seed=95, scale=1e4), dim=0))]


def half_cases(name: str) -> list[tuple[str, dict]]:
    """float16 and bfloat16 inputs, large enough to overflow a float16 exp (above ~11.1)."""
    out = []
    for dtype, scales in ((torch.float16, (3.0, 20.0, 200.0)), (torch.bfloat16, (3.0, 100.0, 1e4, 1e30))):
        for i, scale in enumerate(scales):
            x = _randn(32, 50, seed=100 + i, scale=1.0, dtype=torch.float64) * scale
            case = make_case(name, x.to(dtype), seed=110 + i)
            if name == "softmax_cross_entropy":
                case["labels"] = case["labels"].to(dtype)
            label = str(dtype).removeprefix("torch.")
            out.append((f"{label} logits [32, 50] of scale {scale:g}", case))
    return out


# ------------------------------------------------------------------------------------------------------
# Checks, the same for each exercise
# ------------------------------------------------------------------------------------------------------
def _on(sub, probe, name: str, case: dict, *args) -> dict:
    """`sub.call(probe, name, case, *args)`; when the student's code raises, the message names the input."""
    try:
        return sub.call(probe, name, case, *args)
    except StudentError as exc:
        raise StudentError(f"{name} on {_input_label(name, case)}: {exc}") from None


def _input_label(name: str, case: dict) -> str:
    label = f"logits {shape(case['logits'])} ({case['logits'].dtype})".replace("torch.", "")
    if name == "cross_entropy" and case["logits"].dim() > 1:
        return f"{label}, classes on dim 1"
    return label + ("" if case.get("dim") is None else f", dim={case['dim']}")


def _values_on(sub, name: str, cases: list[tuple[str, dict]], device: str) -> None:
    for label, case in cases:
        judge_values(name, case, _on(sub, probe_values, name, case, device), device, label)


def seed_example(sub, device: str, spec) -> str:
    name = spec.exercise
    cases = seed_cases(name)
    _values_on(sub, name, cases, device)
    if name in ("softmax_cross_entropy", "cross_entropy"):
        label, case = cases[0]
        cotangent = torch.tensor(1.0)
        r = _on(sub, probe_gradient, name, case, cotangent, device)
        judge_gradient(name, case, cotangent, r, f"gradient for {label}")
        expected = "loss 500, gradient [0.5, -0.5]" if name == "softmax_cross_entropy" else \
            "loss 500, gradient [[0.5, -0.5], [0, 0]]"
        return f"the notes' example gives {expected}, as torch does"
    return "finite and equal to torch's on the notes' example and a batch"


def matches_torch(sub, device: str, spec) -> str:
    name = spec.exercise
    cases = [(f"logits {shape(case['logits'])} of ordinary scale", case) for case in (
        make_case(name, _randn(8, 10, seed=11)), make_case(name, _randn(3, 4, seed=12, scale=1.0)))]
    _values_on(sub, name, cases, device)
    return "equals torch's result on ordinary logits"


def allowed_builtins(sub, device: str, spec) -> str:
    name = spec.exercise
    from grader.judging.source_scan import attribute_calls

    def refuse(used: list[str]) -> None:
        plural = "s" if len(used) > 1 else ""
        raise Fail(f"{name} calls the built-in{plural} {', '.join(used)}, which the exercise forbids (modules such "
                   "as nn.Softmax or nn.CrossEntropyLoss call them too): the point is to build the numerical "
                   "stability yourself. See the docstring for what you may use.")

    source = sub.source(name)
    forbidden = FORBIDDEN[name] | _FORBIDDEN_MODULES
    if source is not None:
        found = attribute_calls(source, sub.source, forbidden)
        if found:
            refuse([f"`{code}` (line {line} of {function})" for function, line, code in found[:3]])
    case = make_case(name, _randn(4, 5, seed=21))
    r = _on(sub, probe_calls, name, case, device)
    judge_values(name, case, r, device, "logits [4, 5]")
    if not r["calls"]:
        raise Fail(f"no torch operation was observed while {name} ran, yet it returned the right values: the "
                   "grader cannot see how it computes. Compute with ordinary PyTorch operations.")
    used = [c for c in r["calls"] if base_name(c) in FORBIDDEN[name]]
    if used:
        refuse(used)
    read = "its code names none of them and " if source is not None else ""
    return f"uses none of the forbidden built-ins ({read}{len(r['calls'])} distinct torch calls observed)"


def extreme_logits(sub, device: str, spec) -> str:
    name = spec.exercise
    cases = extreme_cases(name)
    _values_on(sub, name, cases, device)
    return f"finite and correct on {len(cases)} extreme inputs (+-1e4, +-1e30, all equal, a large batch)"


def per_row_max(sub, device: str, spec) -> str:
    name = spec.exercise
    _values_on(sub, name, row_scale_cases(name), device)
    return "correct when rows differ in scale by more than 100 (a per-row max)"


def non_last_dim(sub, device: str, spec) -> str:
    name = spec.exercise
    cases = non_last_dim_cases(name)
    _values_on(sub, name, cases, device)
    return "correct along dims other than the last" if name != "cross_entropy" else \
        "correct for logits [N, C, ...] with the classes on dim 1"


def drawn_inputs(sub, device: str, spec) -> str:
    name = spec.exercise
    from hypothesis import strategies as st

    from grader.judging.props import for_all
    from grader.judging.strategies import seeds

    scales = st.sampled_from([1.0, 10.0, 100.0, 1e4, 1e30])
    sizes = st.lists(st.integers(1, 6), min_size=1, max_size=4)
    if name == "cross_entropy":
        sizes = st.lists(st.integers(1, 6), min_size=2, max_size=4)

    @st.composite
    def examples(draw):
        size = draw(sizes)
        dim = None if name == "cross_entropy" or draw(st.booleans()) else draw(st.integers(-len(size), len(size) - 1))
        return size, dim, draw(scales), draw(st.booleans()), draw(seeds)

    def build(example) -> dict:
        size, dim, scale, mixed, seed = example
        x = torch.randn(*size, generator=_generator(seed), dtype=torch.float64) * scale
        if mixed:  # each slice along the class dim gets its own scale, 1 to 1e4 times smaller
            d = class_dim(name, {"logits": x, "dim": dim})
            shrink = 10 ** (-4 * torch.rand(*[1 if i == d else s for i, s in enumerate(size)],
                                            generator=_generator(seed + 1), dtype=torch.float64))
            x = x * shrink
        return make_case(name, x.float(), dim=dim, seed=seed)

    def body(example) -> None:
        case = build(example)
        judge_values(name, case, _on(sub, probe_values, name, case, device), device, "result")

    def describe(example) -> str:
        size, dim, scale, mixed, _ = example
        rows = ", rows scaled differently" if mixed else ""
        return f"logits {size} of scale {scale:g}{rows}" + ("" if dim is None else f", dim={dim}")

    n = for_all(examples(), body, max_examples=spec.examples, describe=describe)
    return f"equals torch's result on {n} drawn shapes, dims and scales"


def gradcheck(sub, device: str, spec) -> str:
    name = spec.exercise
    if name == "cross_entropy":
        cases = [make_case(name, _randn(3, 4, seed=31).double()), make_case(name, _randn(2, 3, 2, seed=32).double())]
    else:
        cases = [make_case(name, _randn(3, 4, seed=31).double()),
                 make_case(name, _randn(2, 3, 2, seed=32).double(), dim=1)]
    for case in cases:
        judge_jacobians(_on(sub, probe_jacobians, name, case, device), ["logits"],
                        what=f"float64 gradcheck on logits {shape(case['logits'])}")
    return "float64 gradcheck passes (autograd equals finite differences)"


def extreme_gradients(sub, device: str, spec) -> str:
    name = spec.exercise
    cases = seed_cases(name)[:1] + row_scale_cases(name)[:1] + extreme_cases(name, large=False)
    for i, (label, case) in enumerate(cases):
        shape_out = _expected_shape(name, case)
        cotangent = torch.rand(shape_out, generator=_generator(40 + i), dtype=torch.float64).float() + 0.5
        r = _on(sub, probe_gradient, name, case, cotangent, device)
        judge_gradient(name, case, cotangent, r, f"gradient for {label}")
    return f"gradients finite and equal to torch's on {len(cases)} extreme inputs"


def half_precision(sub, device: str, spec) -> str:
    name = spec.exercise
    cases = half_cases(name)
    _values_on(sub, name, cases, device)
    return f"float16 and bfloat16 results within {ULPS} ulps-worth of float64 ({len(cases)} inputs)"


def speed_vs_builtin(sub, device: str, spec) -> str:
    name = spec.exercise
    from grader.judging.speed import compare_speed, expect_sampled

    def verify(info, seed, flat_index, picks) -> None:
        case = speed_case(name, seed)
        logits = case["logits"].double().requires_grad_(True)
        if name == "softmax_cross_entropy":
            F.cross_entropy(logits, case["labels"].double(), reduction="none").sum().backward()
        else:
            F.cross_entropy(logits, case["targets"]).backward()
        expect_sampled(picks[0], logits.grad, flat_index, what=f"the gradient of {name}", atol=1e-6, rtol=1e-3)

    rows, classes = SPEED["shape"]
    limit = spec.threshold("max_slowdown", device)
    times = compare_speed(sub, probe=probe_loss_speed, baseline=probe_builtin_loss_speed, device=device,
                          repeats=SPEED["repeats"], baseline_repeats=SPEED["repeats"], numel=rows * classes,
                          verify=lambda info, seed, index, picks: verify(info, seed, index, picks),
                          args=(name,), slowdown_limit=limit)
    ratio = times["submission"] / times["baseline"]
    measured = (f"forward + backward {ratio:.1f}x the time of F.cross_entropy (submission "
                f"{times['submission'] * 1e3:.2f} ms, F.cross_entropy {times['baseline'] * 1e3:.2f} ms, timed by the "
                f"grader; allowed <= {limit:g}x)")
    if ratio > limit:
        raise Fail(f"{measured}. Work on whole tensors: no Python loop over rows.", measured=ratio)
    return Measured(measured, ratio)


QUADRATIC = ("Somewhere a [N] tensor met an [N, 1] one (or the reverse), and broadcasting built an [N, N] matrix: "
             "every example's log-sum-exp paired with every other example's target logit. Its mean happens to equal "
             "the right loss, but it costs N^2 memory and time (1 GiB at N = 16384). Keep the per-example terms "
             "the same shape: squeeze the gathered logits (or keep both [N, 1]) before subtracting.")


def no_quadratic_intermediate(sub, device: str, spec) -> str:
    name = spec.exercise
    rows, classes = 512, 10
    case = make_case(name, _randn(rows, classes, seed=61), seed=62)
    r = _on(sub, probe_op_shapes, name, case, device)
    judge_values(name, case, r, device, f"logits [{rows}, {classes}]")
    if not r["ops"]:
        raise Fail(f"no tensor operation was observed while {name} ran, yet it returned the right values: the "
                   "grader cannot see how it computes. Compute with ordinary PyTorch operations.")
    largest = max(((op, s) for op, shapes in r["ops"] for s in shapes), key=lambda item: math.prod(item[1]),
                  default=("", []))
    if math.prod(largest[1]) >= rows * rows // 2:
        raise Fail(f"for logits [{rows}, {classes}], {name} built a tensor of shape {largest[1]} (by "
                   f"aten.{largest[0]}), {math.prod(largest[1]) // (rows * classes)}x the size of the logits. "
                   f"{QUADRATIC}")
    return f"no intermediate larger than {math.prod(largest[1])} elements for logits [{rows}, {classes}]"


# Registered for each exercise here, at the end: `course release` keeps the public ones (top-level functions)
# in the student bundle and writes their registrations itself.
for _name in EXERCISES:
    for _fn in (seed_example, matches_torch, allowed_builtins, extreme_logits, per_row_max, non_last_dim,
                drawn_inputs, gradcheck, extreme_gradients, half_precision):
        check(_name, _fn.__name__)(_fn)
for _name in ("softmax_cross_entropy", "cross_entropy"):
    check(_name, "speed_vs_builtin")(speed_vs_builtin)
check("cross_entropy", "no_quadratic_intermediate")(no_quadratic_intermediate)
