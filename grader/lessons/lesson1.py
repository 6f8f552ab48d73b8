"""Lesson 1 (PyTorch basics and autograd): `vjp` and `fit_polynomial` (judge side).

Checks (`@check`) build inputs, call the probes of grader.probes.lesson1 through the runner, compute
PyTorch's answer here and judge.

vjp. The oracle is torch.func.vjp, run here in float64 on the same function (the functions live in
grader.probes.lesson1, so both sides build the same ones) and the same x and v. Allowed:
|y - oracle| <= tol * (|oracle| + s), s = max(max|oracle|, 1e-3 max|v|), tol = 1e-4 for float32 results and
1e-9 for float64 ones. Measured on 2000 drawn cases (every function, 0-3 dims, sizes 1-4): the reference and
both alternatives (tests/submissions/lesson1/alt_*.py) reach 1e-5 of tol's unit in float32 (x / |x| of a
short x is the worst: 1/|x| amplifies rounding) and are exact in float64. The floor 1e-3 max|v| keeps an
all-zero product from demanding exact zeros; x / |x| of a single number (a constant) is not drawn. The
mistakes the checks name are off by a factor (2x, the old .grad added, v ignored, J·v) or raise.

fit_polynomial. The oracle is the least-squares fit of the same data (torch.linalg.lstsq in float64), which
for noiseless data is the polynomial that made them. The error of a fit is the largest difference between
the two polynomials over the data's range (201 points), divided by the root-mean-square of y:
E = max |p(t) - p*(t)| / rms(y); allowed E <= FIT_TOL = 2e-3. Measured (500 Adam steps at lr 0.1): the
reference, both alternatives and three more correct variants (random start; x / std(x); y standardized)
on the checks' 6 fixed inputs plus 148 drawn ones (drawn_fit_cases, 8 seeds): E <= 5.3e-6; a random start
over 966 more runs on drawn degree-1/2 cases: E < 1e-5. On 12 other data sets for the degree-3 input of
other_degrees the same variants reach E <= 8e-4. Adam at a fixed lr does not converge much further than
that (its second-moment average forgets the early gradients after ~1000 steps, and then its steps grow
again: 3000 steps can end worse than 500), and lopsided ranges ([-R, 0.3R)) leave the scaled powers so
correlated that a random start misses by up to 5e-2 in 2 of 264 runs, so drawn ranges are near-symmetric.
Mistakes, as graded (tests/submissions/lesson1): a new optimizer every step E = 0.068-0.37, re-created
parameters 0.46-2.6, no zero_grad >= 10, x scaled but not y 0.0102-0.54, reversed order E >= 1 (and named
as such); an L1 loss instead of the squared error E = 4e-3 to 7e-2 on the drawn cases. The notes' example is judged per
coefficient: within SEED_TOL = 0.1 of [5, 0, 3]. Over 30 data sets x 6 correct variants (180 runs) 179
land within 0.05 (one, y standardized with its mean removed, missed the constant by 0.44); unscaled
features (the notes' fit) miss the constant by 0.28-4.4 (median 1.25) in all 60 runs.
"""

from __future__ import annotations

import torch

from grader.engine.checks import Fail, StudentError, check
from grader.judging.compare import shape
from grader.probes.lesson1 import (
    make_function,
    output_shape,
    probe_fit,
    probe_fit_ops,
    probe_vjp,
    seed_data,
)

# ------------------------------------------------------------------------------------------------------
# Messages: each names a mistake by the symptom the grader observed
# ------------------------------------------------------------------------------------------------------
GRAD_OUTPUTS = ("fn(x) is not a scalar, so autograd needs the vector to start the backward pass from: pass v "
                "as torch.autograd.grad(y, leaf, grad_outputs=v) (or call y.backward(v)). Only a scalar output may "
                "leave it out, and then it means v = 1.")
NEEDS_LEAF = ("x arrives without requires_grad, so nothing computed from it has a graph. Differentiate with "
              "respect to a leaf of your own: leaf = x.detach().requires_grad_(), then y = fn(leaf).")
NO_GRAD_CALL = ("vjp was called inside torch.no_grad(), so fn(leaf) recorded no graph. Run the forward pass "
                "under `with torch.enable_grad():` (torch.func.vjp works there too).")
RETURNED_NONE = ("vjp returned None. Reading .grad is the usual cause: it is only filled for leaf tensors, and only "
                 "once a backward pass reaches them. torch.autograd.grad(y, leaf, grad_outputs=v) returns the "
                 "product directly.")
SUMMED = ("Your result equals the product with v replaced by ones (the gradient of fn(x).sum()): v was ignored. "
          "Pass it as grad_outputs=v.")
JVP = ("Your result equals J·v, a Jacobian-vector product (what torch.func.jvp computes, forward mode). vjp is "
       "vᵀ·J: the gradient of (fn(x) * v).sum(), which torch.autograd.grad(y, leaf, grad_outputs=v) gives.")
DOUBLED = ("Your result is twice the right answer: a gradient from an earlier backward pass was still in .grad "
           "and the new one was added to it (gradients accumulate until zeroed).")
ACCUMULATES = ("backward() adds into the .grad of every leaf it reaches: gradients accumulate until zeroed. "
               "Compute the product with "
               "torch.autograd.grad(y, leaf, grad_outputs=v), which returns it without storing it anywhere, or call "
               "backward on a fresh leaf of your own (leaf = x.detach().requires_grad_()).")
FLIPPED = ("vjp switched on requires_grad of the caller's x: x.requires_grad_() changes the tensor you were given, "
           "and a later backward through it would fill its .grad. Make your own leaf: "
           "leaf = x.detach().requires_grad_().")
CHANGED_X = ("vjp changed the values of x. x.detach() shares x's memory, so an in-place op on it (add_, mul_, "
             "...) writes into the caller's tensor; use out-of-place ops, or x.detach().clone().")
NOT_VALUES = ("vjp returned a tensor that still requires grad (it is attached to a graph: create_graph=True, or "
              "the result of an operation on a tensor that requires grad). vjp returns numbers: leave create_graph "
              "at its default False, or return result.detach(); a graph kept alive costs memory and lets the "
              "caller's later operations extend it.")
COPY = ("vjp copied x with torch.tensor(x, requires_grad=True), and PyTorch warned: \"To copy construct from a "
        "tensor, it is recommended to use sourceTensor.detach().clone() ...\". torch.tensor(t) copies the values into "
        "a new leaf cut from t's graph: nothing computed from the copy reaches t. Here that happens to be what vjp "
        "needs, but the same line in a model silently stops the gradients (the notes' `w = torch.tensor(torch.randn("
        "[3, 1]), requires_grad=True)` makes such a copy). Say what you mean: x.detach().requires_grad_(), or "
        "x.detach().clone().requires_grad_() for a copy.")
FUNC_ORACLE = ("the exercise is to build the product with autograd yourself (torch.autograd.grad with grad_outputs, "
               "or backward(v) on a fresh leaf); torch.func.vjp and torch.autograd.functional are the grader's "
               "oracle, not the answer.")

ZERO_GRAD = ("Gradients accumulated: at optimizer step {step}, the parameters' .grad held that step's gradient plus "
             "the previous ones (backward() adds into .grad until something zeroes it), so Adam followed a running "
             "sum of stale gradients. Call opt.zero_grad() before each loss.backward().")
NEVER_TRAINED = ("Adam took {steps} steps, but its parameters never had a gradient: the loss was computed from "
                 "other tensors. Re-creating the parameters inside the loop (w = torch.zeros(...), torch.tensor(...) "
                 "or torch.randn(...) each step) does that: Adam holds the first tensor, and you return an untrained "
                 "one. Create w once, before the loop, give that tensor to Adam, and let opt.step() update it.")
RECREATED = ("The parameters were re-created every step ({parameters} parameter tensors for {steps} steps, with a "
             "new optimizer for each): every step starts again from the initial values, so the fit makes no "
             "progress. Create w and the optimizer once, before the loop; opt.step() updates w in place.")
NEW_OPTIMIZER = ("A new optimizer was created every step ({optimizers} optimizers for {steps} steps): Adam's "
                 "running averages restart each time, so every step moves each coefficient by about lr and the fit "
                 "stalls lr away from the answer. Create the optimizer once, before the loop.")
NO_OPTIMIZER = ("No torch.optim optimizer took a step while fit_polynomial ran. Fit with torch.optim.Adam: "
                "opt.zero_grad(); loss.backward(); opt.step(), `steps` times.")
SAME_FOR_ALL = ("fit_polynomial returned the same coefficients for steps={counts}: it ignores `steps`. Take exactly "
                "`steps` Adam steps.")
NO_PROGRESS = ("fit_polynomial returned the same coefficients for steps={counts}: training makes no progress. The "
               "tensor you return must be the one Adam updates.")
DIVERGED = ("The fit got worse with more steps (relative loss {early:.3g} after {k}, {late:.3g} after {n}): "
            "training diverged.")
SCALE = ("Adam was still closing in after {n} steps (relative loss {early:.3g} after {k} steps, {late:.3g} after "
         "{n}). Adam moves each coefficient by about lr per step, so it needs coefficients of order 1 and features of "
         "similar sizes; here the features x^k reach {big:.3g} next to 1, and y reaches {ybig:.3g}, which makes the "
         "loss a long narrow valley that Adam crawls along. Scale the problem: fit on t = x / max|x| and "
         "u = y / max|y|, so that every feature and coefficient is of order 1, then convert back: "
         "c_k = w_k * max|y| / max|x|^k.")
REVERSED = ("Your coefficients are the right ones in reverse order: return them highest power first, "
            "[c_degree, ..., c_1, c_0], as numpy.polyfit does (for 5x^2 + 3: [5, 0, 3]).")
DETACH = ("the coefficients still require grad: you returned the trained parameter itself. Return w.detach() (the "
          "fit is over; the caller wants numbers, not a graph).")
CLOSED_FORM = ("fit_polynomial solves the least-squares problem in closed form ({found}). The exercise is to fit "
               "with autograd and torch.optim.Adam.")

FIT_TOL = 2e-3
SEED_TOL = 0.1
SEED = 2024


# ------------------------------------------------------------------------------------------------------
# vjp: oracle, tolerances, diagnosis
# ------------------------------------------------------------------------------------------------------
def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(*size: int, seed: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(size, generator=_generator(seed), dtype=torch.float64).to(dtype)


def _function(name: str, x: torch.Tensor):
    return make_function(name, torch.float64, "cpu", x.shape[-1] if x.dim() else 1)


def vjp_oracle(name: str, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """vᵀ·J of the named function at x, by torch.func.vjp in float64."""
    _, pullback = torch.func.vjp(_function(name, x), x.detach().double())
    return pullback(v.detach().double())[0]


def _close(y: torch.Tensor, expected: torch.Tensor, dtype: torch.dtype, floor: float = 0.0) -> bool:
    """|y - expected| <= tol * (|expected| + max(max|expected|, floor)); `floor` (1e-3 max|v| for vjp) keeps an
    all-zero product (x / |x| of one element) from demanding exact zeros."""
    if list(y.shape) != list(expected.shape):
        return False
    tol = 1e-4 if dtype in (torch.float32, torch.float16, torch.bfloat16) else 1e-9
    scale = max(float(expected.abs().max()) if expected.numel() else 0.0, floor, 1e-30)
    y = y.double()
    return bool(torch.isfinite(y).all()) and torch.allclose(y, expected, rtol=tol, atol=tol * scale)


def _worst(y: torch.Tensor, expected: torch.Tensor) -> str:
    diff = torch.nan_to_num((y.double() - expected).abs(), nan=float("inf"))
    if not diff.dim():
        return f"got {y.item():.6g}, expected {expected.item():.6g}"
    index = tuple(int(i) for i in torch.unravel_index(diff.argmax(), diff.shape))
    return f"got {y[index].item():.6g} at index {list(index)}, expected {expected[index].item():.6g}"


def _floor(v: torch.Tensor) -> float:
    return 1e-3 * float(v.abs().max()) if v.numel() else 0.0


def _vjp_hint(name: str, x: torch.Tensor, v: torch.Tensor, y: torch.Tensor) -> str:
    """The message of a known mistake that reproduces `y`, else ''."""
    expected = vjp_oracle(name, x, v)
    floor = _floor(v)
    if not bool((v == 1).all()) and _close(y, vjp_oracle(name, x, torch.ones_like(v)), x.dtype, floor):
        return " " + SUMMED
    if output_shape(name, list(x.shape)) == list(x.shape) and not _close(expected, 2 * expected, x.dtype, floor):
        # J·v from the full Jacobian (reverse mode: torch.func.jvp would load forward-mode decompositions)
        jacobian = torch.func.jacrev(_function(name, x))(x.detach().double()).reshape(v.numel(), x.numel())
        jvp = (jacobian @ v.detach().double().reshape(-1)).reshape(x.shape)
        if _close(y, jvp, x.dtype, floor) and not _close(jvp, expected, x.dtype, floor):
            return " " + JVP
    if _close(y, 2 * expected, x.dtype, floor) and not _close(expected, 2 * expected, x.dtype, floor):
        return " " + DOUBLED
    return ""


def judge_vjp(r: dict, name: str, x: torch.Tensor, v: torch.Tensor, device: str, what: str,
              existing_grad: torch.Tensor | None = None) -> None:
    y = r["y"]
    if r["device"] != device:
        raise Fail(f"{what}: x was on {device} but the result is on {r['device']}; keep it on x's device")
    if list(y.shape) != list(x.shape):
        hint = ""
        if list(y.shape) == output_shape(name, list(x.shape)):
            hint = " That is the shape of fn(x) (and of v): vjp returns a gradient with respect to x, shaped like x."
        raise Fail(f"{what}: vjp must return a tensor shaped like x {shape(x)}, got {shape(y)}.{hint}")
    if y.dtype != x.dtype:
        raise Fail(f"{what}: x is {x.dtype} but the result is {y.dtype}; return x's dtype")
    expected = vjp_oracle(name, x, v)
    floor = _floor(v)
    if not _close(y, expected, x.dtype, floor):
        hint = _vjp_hint(name, x, v, y)
        if existing_grad is not None and _close(y, existing_grad.double() + expected, x.dtype, floor):
            hint = " Your result is the .grad x already held plus the product. " + ACCUMULATES
        raise Fail(f"{what}: vᵀ·J differs from torch.func.vjp's: {_worst(y, expected)}.{hint}")


def _describe(name: str, x: torch.Tensor, setup: dict) -> str:
    how = ("x computed from a leaf (not a leaf itself)" if setup.get("nonleaf") else
           "x a leaf that requires grad" if setup.get("requires_grad") else "x that does not require grad")
    if setup.get("grad") is not None:
        how += ", its .grad already set"
    if setup.get("no_grad"):
        how += ", called inside torch.no_grad()"
    dtype = "" if x.dtype == torch.float32 else f" {str(x.dtype).removeprefix('torch.')}"
    return f"vjp({name}, x {shape(x)}{dtype}, v) with {how}"


def _error_hint(message: str, setup: dict) -> str:
    if "implicitly created only for scalar outputs" in message:
        return " " + GRAD_OUTPUTS
    if "does not require grad and does not have a grad_fn" in message:
        return " " + (NO_GRAD_CALL if setup.get("no_grad") else NEEDS_LEAF)
    if "One of the differentiated Tensors does not require grad" in message:
        return " " + NEEDS_LEAF
    if "must return a torch.Tensor, got NoneType" in message:
        return " " + RETURNED_NONE
    return ""


def run_vjp(sub, name: str, x: torch.Tensor, v: torch.Tensor, device: str, setup: dict,
            described: bool = True) -> dict:
    """probe_vjp; when the student's code raises, the message names the call (unless the caller does) and the
    likely cause."""
    try:
        return sub.call(probe_vjp, name, x, v, device, setup)
    except StudentError as exc:
        where = f"{_describe(name, x, setup)}: " if described else ""
        raise StudentError(f"{where}{exc}.{_error_hint(str(exc), setup)}") from None


def _vjp_case(sub, name: str, x: torch.Tensor, v: torch.Tensor, device: str, setup: dict,
              described: bool = True) -> dict:
    """Run one case and judge every result it returned."""
    r = run_vjp(sub, name, x, v, device, setup, described)
    for i, result in enumerate(r["results"]):
        what = _describe(name, x, setup) if described else "the result"
        what += f", call {i + 1}" if len(r["results"]) > 1 else ""
        judge_vjp(result, name, x, v, device, what, existing_grad=setup.get("grad"))
    return r


# ------------------------------------------------------------------------------------------------------
# vjp checks
# ------------------------------------------------------------------------------------------------------
LEAF = {"requires_grad": True}
PLAIN = {"requires_grad": False}


@check("vjp", "seed_example")
def vjp_seed_example(sub, device: str, spec) -> str:
    _vjp_case(sub, "neg_square", torch.tensor(1.0), torch.tensor(1.0), device, LEAF)
    _vjp_case(sub, "shifted_square", torch.eye(5), torch.ones(5, 5), device, LEAF)
    return ("the notes' examples: d(-x*x)/dx = -2 at x = 1, and (inp + 1)^2 at eye(5) with v = ones gives 4 on "
            "the diagonal, 2 elsewhere")


NON_SCALAR = [  # (function, x, v): outputs of other shapes than x, several ops, a data-dependent loop
    ("doubling", _randn(3, seed=11), torch.tensor([0.1, 1.0, 0.0001])),
    ("outer", _randn(4, seed=12), _randn(4, 4, seed=13)),
    ("tanh_layer", _randn(2, 5, seed=14), _randn(2, 3, seed=15)),
    ("cumprod", _randn(6, seed=16), _randn(6, seed=17)),
    ("softmax_mix", _randn(3, 4, seed=18), _randn(3, 4, seed=19)),
]


@check("vjp", "non_scalar_outputs")
def vjp_non_scalar_outputs(sub, device: str, spec) -> str:
    for name, x, v in NON_SCALAR:
        _vjp_case(sub, name, x, v, device, LEAF)
    return (f"equals torch.func.vjp for {len(NON_SCALAR)} functions with non-scalar outputs ([4] -> [4, 4], "
            "[2, 5] -> [2, 3], a loop of doublings, ...)")


@check("vjp", "plain_input")
def vjp_plain_input(sub, device: str, spec) -> str:
    cases = [("shifted_square", _randn(3, 2, seed=21), _randn(3, 2, seed=22), PLAIN),
             ("tanh_layer", _randn(4, 5, seed=23), _randn(4, 3, seed=24), PLAIN),
             ("sum_of_squares", _randn(5, seed=25), torch.tensor(2.5), PLAIN),
             ("normalize", _randn(2, 3, seed=26), _randn(2, 3, seed=27), {"nonleaf": True})]
    for name, x, v, setup in cases:
        r = _vjp_case(sub, name, x, v, device, setup)
        if not setup.get("nonleaf") and r["x_requires_grad"]:
            raise Fail(f"{_describe(name, x, setup)}: {FLIPPED}")
        if r["x_changed"]:
            raise Fail(f"{_describe(name, x, setup)}: {CHANGED_X}")
    return "works on x that does not require grad (left as it was) and on x computed from another tensor"


@check("vjp", "x_untouched")
def vjp_x_untouched(sub, device: str, spec) -> str:
    x, v = _randn(3, 4, seed=31), _randn(3, 3, seed=32)
    old = torch.full_like(x, 7.0)
    for setup in ({"requires_grad": True, "grad": old}, LEAF):
        r = run_vjp(sub, "tanh_layer", x, v, device, setup)  # x first: a changed x.grad explains wrong values
        what = _describe("tanh_layer", x, setup)
        before = "None" if setup.get("grad") is None else "7.0 everywhere"
        after = r["x_grad"]
        if (after is None) != (setup.get("grad") is None) or after is not None and not torch.equal(after, old):
            grown = ""
            if after is not None:
                added = after.double() - (0 if setup.get("grad") is None else old.double())
                if _close(added, vjp_oracle("tanh_layer", x, v), x.dtype, _floor(v)):
                    grown = " (by exactly the product: backward() added it into x.grad)"
            now = "a tensor" if after is not None else "None"
            raise Fail(f"{what}: vjp changed x.grad: it was {before} before the call and is {now} after it"
                       f"{grown}. {ACCUMULATES}")
        if not r["x_requires_grad"]:
            raise Fail(f"{what}: after the call x no longer requires grad: vjp must leave the caller's x as it was")
        if r["x_changed"]:
            raise Fail(f"{what}: {CHANGED_X}")
        judge_vjp(r["results"][0], "tanh_layer", x, v, device, what)
    return "x.grad, x.requires_grad and x's values are left as they were"


@check("vjp", "repeated_calls")
def vjp_repeated_calls(sub, device: str, spec) -> str:
    x, v = _randn(5, seed=41), _randn(5, seed=42)
    for setup in ({"calls": 2, **PLAIN}, {"calls": 2, **LEAF}):
        r = run_vjp(sub, "cumprod", x, v, device, setup)
        first, second = (result["y"] for result in r["results"])
        expected = vjp_oracle("cumprod", x, v)
        what = _describe("cumprod", x, setup)
        judge_vjp(r["results"][0], "cumprod", x, v, device, what + ", first call")
        if _close(second, 2 * expected, x.dtype, _floor(v)):
            raise Fail(f"{what}: the first call was right, the second returned twice the answer: the second "
                       f"backward() added its gradient to the .grad the first one left. {ACCUMULATES}")
        judge_vjp(r["results"][1], "cumprod", x, v, device, what + ", second call")
        if not torch.equal(first, second):
            raise Fail(f"{what}: two calls on the same x and v gave different results")
    return "two calls on the same x give the same answer"


@check("vjp", "inside_no_grad")
def vjp_inside_no_grad(sub, device: str, spec) -> str:
    for name, x, v in (("tanh_layer", _randn(2, 4, seed=51), _randn(2, 3, seed=52)),
                       ("mean_tanh", _randn(6, seed=53), torch.tensor(-1.5))):
        _vjp_case(sub, name, x, v, device, {**PLAIN, "no_grad": True})
    return "works when called inside torch.no_grad(), like torch.func.vjp"


@check("vjp", "returns_values")
def vjp_returns_values(sub, device: str, spec) -> str:
    x, v = _randn(3, 4, seed=61), _randn(3, 4, seed=62)
    for setup in (PLAIN, LEAF):
        r = _vjp_case(sub, "softmax_mix", x, v, device, setup)
        if r["results"][0]["requires_grad"]:
            raise Fail(f"{_describe('softmax_mix', x, setup)}: {NOT_VALUES}")
    return "returns plain values (no graph attached)"


VJP_FUNCTIONS = ["neg_square", "shifted_square", "sum_of_squares", "mean_tanh", "doubling", "outer", "tanh_layer",
                 "cumprod", "normalize", "softmax_mix"]
_SCALAR_OK = {"neg_square", "shifted_square", "sum_of_squares", "mean_tanh", "doubling"}  # accept 0-d x


@check("vjp", "matches_torch_func")
def vjp_matches_torch_func(sub, device: str, spec) -> str:
    from hypothesis import strategies as st

    from grader.judging.props import for_all
    from grader.judging.strategies import seeds

    setups = st.sampled_from(["plain", "leaf", "leaf with grad", "nonleaf"])

    @st.composite
    def examples(draw):
        name = draw(st.sampled_from(VJP_FUNCTIONS))
        rank = draw(st.integers(0 if name in _SCALAR_OK else 1, 3))
        size = draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank))
        if name == "normalize" and size[-1] == 1:  # x / |x| of one number is a constant: J is rounding noise
            size[-1] = 2
        return name, size, draw(st.sampled_from([torch.float32, torch.float64])), draw(setups), draw(seeds)

    def build(example):
        name, size, dtype, kind, seed = example
        x = _randn(*size, seed=seed, dtype=dtype)
        v = _randn(*output_shape(name, size), seed=seed + 1, dtype=dtype)
        setup = {"plain": PLAIN, "leaf": LEAF, "nonleaf": {"nonleaf": True},
                 "leaf with grad": {"requires_grad": True, "grad": torch.ones_like(x)}}[kind]
        return name, x, v, setup

    def body(example) -> None:
        name, x, v, setup = build(example)
        _vjp_case(sub, name, x, v, device, setup, described=False)

    def describe(example) -> str:
        name, x, _, setup = build(example)
        return _describe(name, x, setup)

    n = for_all(examples(), body, max_examples=spec.examples, describe=describe)
    return f"equals torch.func.vjp on {n} drawn functions, shapes, dtypes and kinds of x"


@check("vjp", "fresh_leaf")
def vjp_fresh_leaf(sub, device: str, spec) -> str:
    x, v = _randn(3, 4, seed=71), _randn(3, 3, seed=72)
    for setup in (PLAIN, LEAF):
        r = _vjp_case(sub, "tanh_layer", x, v, device, setup)
        if any("To copy construct from a tensor" in w for w in r["warnings"]):
            raise Fail(f"{_describe('tanh_layer', x, setup)}: {COPY}")
    return "makes its leaf without copy-constructing x (no torch.tensor(x) warning)"


_FUNC_NAMES = {"func", "functorch", "vjp", "jvp", "jacrev", "jacfwd", "jacobian", "hessian", "vhp", "hvp"}


@check("vjp", "computed_with_autograd")
def vjp_computed_with_autograd(sub, device: str, spec) -> str:
    from grader.judging.source_scan import attribute_calls

    source = sub.source("vjp")
    if source is not None:
        found = attribute_calls(source, sub.source, _FUNC_NAMES)
        if found:
            function, line, code = found[0]
            raise Fail(f"vjp uses `{code}` (line {line} of {function}): {FUNC_ORACLE}")
    _vjp_case(sub, "tanh_layer", _randn(2, 4, seed=81), _randn(2, 3, seed=82), device, LEAF)
    read = "its code names neither torch.func nor torch.autograd.functional, and " if source is not None else ""
    return f"{read}its result equals torch.func.vjp's"


# ------------------------------------------------------------------------------------------------------
# fit_polynomial: oracle, error measure, diagnosis
# ------------------------------------------------------------------------------------------------------
def _powers(degree: int) -> torch.Tensor:
    return torch.arange(degree, -1, -1)


def lstsq_fit(x: torch.Tensor, y: torch.Tensor, degree: int) -> torch.Tensor:
    """Least-squares coefficients, highest power first, in float64."""
    features = x.double().unsqueeze(1) ** _powers(degree)
    return torch.linalg.lstsq(features, y.double().unsqueeze(1), driver="gelsd").solution.squeeze(1)


def _evaluate(c: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return (t.double().unsqueeze(1) ** _powers(len(c) - 1)) @ c.double()


def fit_error(c: torch.Tensor, oracle: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> float:
    """max |p_c - p_oracle| over the data's range, divided by rms(y)."""
    grid = torch.linspace(float(x.min()), float(x.max()), 201, dtype=torch.float64)
    rms = float(y.double().square().mean().sqrt()) or 1.0
    return float(torch.nan_to_num((_evaluate(c, grid) - _evaluate(oracle, grid)).abs(), nan=float("inf")).max()) / rms


def _relative_loss(c: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> float:
    residual = _evaluate(c, x) - y.double()
    return float(torch.nan_to_num(residual.square().mean(), nan=float("inf"))) / \
        (float(y.double().square().mean()) or 1.0)


def _fmt(c: torch.Tensor) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in c.double().tolist()) + "]"


def _call_fit(sub, x: torch.Tensor, y: torch.Tensor, degree: int, steps: list, device: str, what: str) -> list[dict]:
    try:
        return sub.call(probe_fit, x, y, degree, steps, device)
    except StudentError as exc:
        raise StudentError(f"{what}: {exc}") from None


def poly_label(coefficients: list[float]) -> str:
    """[0.5, -2, 4] -> '0.5x^2 - 2x + 4'."""
    degree = len(coefficients) - 1
    text = ""
    for k, c in zip(range(degree, -1, -1), coefficients):
        term = f"{abs(c):.3g}" + ("" if k == 0 else "x" if k == 1 else f"x^{k}")
        text += (f"-{term}" if c < 0 else term) if not text else (f" - {term}" if c < 0 else f" + {term}")
    return text


def _data_label(x: torch.Tensor, degree: int) -> str:
    dtype = "" if x.dtype == torch.float32 else f" {str(x.dtype).removeprefix('torch.')}"
    return f"fit_polynomial(x [{len(x)}]{dtype} in [{float(x.min()):.3g}, {float(x.max()):.3g}], y, degree={degree})"


def judge_format(r: dict, x: torch.Tensor, degree: int, device: str, what: str) -> None:
    c = r["c"]
    if r["device"] != device:
        raise Fail(f"{what}: x was on {device} but the coefficients are on {r['device']}; keep x's device")
    if list(c.shape) != [degree + 1]:
        hint = ""
        if c.numel() == degree + 1:
            hint = (f" It holds the right number of values: flatten it (the notes' w has shape [{degree + 1}, 1]; "
                    "return w.squeeze(1) or build w with shape [degree + 1]).")
        elif c.numel() == degree:
            hint = " One coefficient per power from x^degree down to x^0 makes degree + 1 of them."
        raise Fail(f"{what}: expected shape [{degree + 1}] (degree + 1 coefficients), got {shape(c)}.{hint}")
    if c.dtype != x.dtype:
        raise Fail(f"{what}: x is {x.dtype} but the coefficients are {c.dtype}; return x's dtype")
    if r["requires_grad"]:
        raise Fail(f"{what}: {DETACH}")


def training_fault(r: dict) -> str:
    """What the probe saw go wrong in the optimizer steps of one fit, or ''."""
    total = sum(r["optimizer_steps"].values())
    if r["accumulated_steps"]:
        return ZERO_GRAD.format(step=r["first_accumulated"])
    if total == 0:
        return NO_OPTIMIZER
    if r["steps_without_grad"] == total:
        return NEVER_TRAINED.format(steps=total)
    if total > 1 and r["parameters"] >= total:
        return RECREATED.format(parameters=r["parameters"], steps=total)
    if total > 1 and r["optimizers"] >= total:
        return NEW_OPTIMIZER.format(optimizers=r["optimizers"], steps=total)
    return ""


def _steps(k: int) -> str:
    return f"{k} step" + ("" if k == 1 else "s")


def curve_symptom(curve: list[dict], counts: list[int], x: torch.Tensor, y: torch.Tensor, degree: int,
                  oracle: torch.Tensor) -> str:
    """What the fits after `counts` steps say about the training, or ''."""
    coefficients = [r["c"] for r in curve]
    if all(c.shape == coefficients[0].shape and torch.equal(c, coefficients[0]) for c in coefficients):
        listed = ", ".join(str(k) for k in counts)
        right = len(coefficients[-1]) == degree + 1 and fit_error(coefficients[-1], oracle, x, y) <= FIT_TOL
        return (SAME_FOR_ALL if right else NO_PROGRESS).format(counts=listed)
    losses = [_relative_loss(c, x, y) if len(c) == degree + 1 else float("inf") for c in coefficients]
    floor = _relative_loss(oracle, x, y)
    excess = [max(loss - floor, 0.0) for loss in losses]
    best = min(range(len(excess) - 1), key=lambda i: excess[i])
    if excess[-1] > 2 * excess[best] + 1e-12:
        return DIVERGED.format(early=losses[best], k=_steps(counts[best]), late=losses[-1], n=counts[-1])
    if excess[-1] < 0.9 * excess[-2]:
        big = float(x.abs().max()) ** degree if degree else 1.0
        return SCALE.format(n=counts[-1], k=counts[-2], early=losses[-2], late=losses[-1], big=big,
                            ybig=float(y.abs().max()))
    return ""


def training_diagnosis(curve: list[dict], counts: list[int], x: torch.Tensor, y: torch.Tensor, degree: int,
                       oracle: torch.Tensor) -> str:
    """Why a fit went wrong: its optimizer steps first (the longest run), then the shape of its curve."""
    return training_fault(curve[-1]) or curve_symptom(curve, counts, x, y, degree, oracle)


CURVE = [1, 50, 500]


def judge_fit(sub, r: dict, x: torch.Tensor, y: torch.Tensor, degree: int, device: str, what: str,
              curve: list[dict] | None = None) -> float:
    """Format, then E <= FIT_TOL; a wrong fit is diagnosed (reversed order, then its training)."""
    judge_format(r, x, degree, device, what)
    oracle = lstsq_fit(x, y, degree)
    error = fit_error(r["c"], oracle, x, y)
    if error <= FIT_TOL:
        return error
    if degree > 0 and fit_error(r["c"].flip(0), oracle, x, y) <= FIT_TOL:
        raise Fail(f"{what}: got {_fmt(r['c'])}, least squares gives {_fmt(oracle)}. {REVERSED}")
    if curve is None:
        curve = _call_fit(sub, x, y, degree, CURVE, device, what)
    hint = training_diagnosis(curve, CURVE, x, y, degree, oracle)
    raise Fail(f"{what}: got {_fmt(r['c'])}, least squares gives {_fmt(oracle)} (the polynomials differ by "
               f"{error:.3g} x rms(y) over the data's range; allowed {FIT_TOL:g}). {hint}".rstrip())


def _case(seed: int, n: int, low: float, high: float, coefficients: list[float], noise: float = 0.0,
          dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """x uniform on [low, high), y = the polynomial (highest power first) plus noise * std(y) * N(0, 1)."""
    g = _generator(seed)
    x = torch.rand(n, generator=g, dtype=torch.float64) * (high - low) + low
    y = _evaluate(torch.tensor(coefficients, dtype=torch.float64), x)
    if noise:
        y = y + noise * (y.std() if n > 1 and float(y.std()) > 0 else 1.0) * \
            torch.randn(n, generator=g, dtype=torch.float64)
    return x.to(dtype), y.to(dtype)


# ------------------------------------------------------------------------------------------------------
# fit_polynomial checks
# ------------------------------------------------------------------------------------------------------
@check("fit_polynomial", "seed_example")
def fit_seed_example(sub, device: str, spec) -> str:
    x, y = seed_data(SEED)
    what = "on the notes' data (x uniform in [-10, 10], y = 5x^2 + 3, 100 points), fit_polynomial(x, y, 2)"
    (r,) = _call_fit(sub, x, y, 2, [None], device, what)
    judge_format(r, x, 2, device, what)
    target = torch.tensor([5.0, 0.0, 3.0], dtype=torch.float64)
    c = r["c"].double()
    if torch.isfinite(c).all() and (c - target).abs().max() <= SEED_TOL:
        return f"recovers 5x^2 + 3 from the notes' data: {_fmt(c)}"
    if (c.flip(0) - target).abs().max() <= SEED_TOL:
        raise Fail(f"{what} returned {_fmt(c)}. {REVERSED}")
    curve = _call_fit(sub, x, y, 2, CURVE, device, what)
    hint = training_diagnosis(curve, CURVE, x, y, 2, target)
    raise Fail(f"{what} returned {_fmt(c)}, not [5, 0, 3] (each coefficient within {SEED_TOL:g}). {hint}".rstrip())


@check("fit_polynomial", "output_format")
def fit_output_format(sub, device: str, spec) -> str:
    cases = [(0, _case(1, 30, -2, 2, [4.0])), (1, _case(2, 40, -3, 3, [1.5, -1.0], dtype=torch.float64)),
             (3, _case(3, 50, -2, 2, [1.0, 0.0, -2.0, 0.5]))]
    for degree, (x, y) in cases:
        (r,) = _call_fit(sub, x, y, degree, [20], device, _data_label(x, degree))
        judge_format(r, x, degree, device, _data_label(x, degree) + " with steps=20")
        if not torch.isfinite(r["c"]).all():
            raise Fail(f"{_data_label(x, degree)} with steps=20 returned non-finite coefficients {_fmt(r['c'])}")
    return "shape [degree + 1], x's dtype (float32, float64) and device, no graph attached"


@check("fit_polynomial", "coefficient_order")
def fit_coefficient_order(sub, device: str, spec) -> str:
    x, y = _case(4, 50, -2, 2, [0.5, -2.0, 4.0])
    what = _data_label(x, 2) + " for y = 0.5x^2 - 2x + 4"
    (r,) = _call_fit(sub, x, y, 2, [None], device, what)
    judge_fit(sub, r, x, y, 2, device, what)
    return f"highest power first: {_fmt(r['c'])} for 0.5x^2 - 2x + 4"


@check("fit_polynomial", "training_progress")
def fit_training_progress(sub, device: str, spec) -> str:
    x, y = _case(5, 60, -3, 3, [-2.0, 1.0, 1.0])
    what = _data_label(x, 2) + " for y = -2x^2 + x + 1"
    curve = _call_fit(sub, x, y, 2, CURVE, device, what)
    for k, r in zip(CURVE, curve):
        judge_format(r, x, 2, device, f"{what} with steps={k}")
    fault = training_fault(curve[-1])
    if fault:  # its training went wrong, whatever the values
        raise Fail(f"{what}: {fault}")
    judge_fit(sub, curve[-1], x, y, 2, device, f"{what} with steps={CURVE[-1]}", curve=curve)
    if all(torch.equal(r["c"], curve[-1]["c"]) for r in curve):  # right after 500 steps, and after 1 too
        raise Fail(f"{what}: " + SAME_FOR_ALL.format(counts=", ".join(str(k) for k in CURVE)))
    first, last = (_relative_loss(r["c"], x, y) for r in (curve[0], curve[-1]))
    return f"relative loss {first:.2g} after 1 step, {last:.2g} after 500; gradients zeroed, parameters kept"


@check("fit_polynomial", "other_degrees")
def fit_other_degrees(sub, device: str, spec) -> str:
    cases = [(0, _case(6, 40, -2, 2, [4.0], noise=0.1), "4 + noise"),
             (1, _case(7, 80, -50, 50, [0.3, -7.0]), "0.3x - 7"),
             (3, _case(8, 120, -4, 4, [0.5, 0.0, -1.0, 2.0]), "0.5x^3 - x + 2")]
    for degree, (x, y), label in cases:
        what = f"{_data_label(x, degree)} for y = {label}"
        (r,) = _call_fit(sub, x, y, degree, [None], device, what)
        judge_fit(sub, r, x, y, degree, device, what)
    return "fits degrees 0, 1 and 3 (4 + noise, 0.3x - 7 on [-50, 50], 0.5x^3 - x + 2)"


def drawn_fit_cases(count: int, seed: int = 77) -> list[tuple[int, torch.Tensor, torch.Tensor, str]]:
    """Degrees 0-2, x on [-R, a R) or [-a R, R) with R from 0.1 to 100 and a from 0.7 to 1, 10-200 points,
    coefficients of order 3 / R^k, noise 0 or 10% of std(y); the fourth case float64. (Much more lopsided
    ranges, such as [-R, 0.3 R), leave the scaled powers so correlated that 500 Adam steps from a random start
    miss the least-squares fit by up to 5e-2 x rms(y) in 2 of 264 measured runs.)"""
    g = _generator(seed)

    def uniform(low: float, high: float) -> float:
        return low + (high - low) * float(torch.rand((), generator=g, dtype=torch.float64))

    cases = []
    for i in range(count):
        degree = i % 3
        radius = 10 ** uniform(-1, 2)
        n = int(uniform(10, 200))
        coefficients = [float(c) * 3 / radius ** k for c, k in
                        zip(torch.randn(degree + 1, generator=g, dtype=torch.float64), range(degree, -1, -1))]
        noise = 0.1 if i % 2 else 0.0
        dtype = torch.float64 if i == 3 else torch.float32
        low, high = -radius, uniform(0.7, 1.0) * radius
        if i % 4 >= 2:  # the longer side positive
            low, high = -high, radius
        x, y = _case(seed * 100 + i, n, low, high, coefficients, noise, dtype)
        label = poly_label(coefficients)
        cases.append((degree, x, y, label + (" + noise" if noise else "")))
    return cases


@check("fit_polynomial", "matches_least_squares")
def fit_matches_least_squares(sub, device: str, spec) -> str:
    cases = drawn_fit_cases(spec.examples)
    worst = 0.0
    for degree, x, y, label in cases:
        what = f"{_data_label(x, degree)} for y = {label}"
        (r,) = _call_fit(sub, x, y, degree, [None], device, what)
        worst = max(worst, judge_fit(sub, r, x, y, degree, device, what))
    return f"within {worst:.1g} x rms(y) of the least-squares fit on {len(cases)} drawn polynomials"


_CLOSED_FORM_OPS = {"linalg_lstsq", "linalg_solve", "linalg_solve_ex", "_linalg_solve_ex", "linalg_inv",
                    "linalg_inv_ex", "linalg_pinv", "pinverse", "inverse", "cholesky_solve", "linalg_cholesky_ex",
                    "_linalg_svd", "linalg_svd", "svd", "linalg_qr", "linalg_lu_factor_ex", "lu_solve",
                    "linalg_lu_solve", "triangular_solve", "linalg_solve_triangular", "linalg_eigh", "_linalg_eigh"}
_CLOSED_FORM_NAMES = {"lstsq", "polyfit", "Polynomial", "pinv", "pinverse", "solve", "inv", "inverse",
                      "solve_triangular", "cholesky_solve", "lu_solve"}


@check("fit_polynomial", "fitted_with_adam")
def fit_fitted_with_adam(sub, device: str, spec) -> str:
    from grader.judging.source_scan import attribute_calls

    source = sub.source("fit_polynomial")
    if source is not None:
        found = attribute_calls(source, sub.source, _CLOSED_FORM_NAMES)
        if found:
            function, line, code = found[0]
            raise Fail(CLOSED_FORM.format(found=f"`{code}`, line {line} of {function}"))
    x, y = _case(4, 50, -2, 2, [0.5, -2.0, 4.0])
    what = _data_label(x, 2) + " for y = 0.5x^2 - 2x + 4"
    try:
        r = sub.call(probe_fit_ops, x, y, 2, None, device)
    except StudentError as exc:
        raise StudentError(f"{what}: {exc}") from None
    judge_fit(sub, r, x, y, 2, device, what)
    solvers = sorted(set(r["ops"]) & _CLOSED_FORM_OPS)
    if solvers:
        raise Fail(CLOSED_FORM.format(found="aten." + ", aten.".join(solvers)))
    steps = r["optimizer_steps"]
    if not steps:
        raise Fail(f"{what}: {NO_OPTIMIZER}")
    others = sorted(set(steps) - {"Adam", "AdamW"})
    if others:
        raise Fail(f"{what}: the steps were taken by {', '.join(others)}; the exercise fits with torch.optim.Adam")
    taken = sum(steps.values())
    if taken != 500:
        raise Fail(f"{what}: {taken} Adam steps were taken with the default steps=500; take exactly `steps`")
    return "500 torch.optim.Adam steps (the default), no closed-form solver"
