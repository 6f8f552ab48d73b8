"""Lesson 2 (modules): `AffineNet`, `make_mlp`, `predict` (judge side).

Each check builds its inputs here, has a probe of grader.probes.lesson2 build or run the student's code in
the child, and judges the plain data that comes back, with PyTorch as the oracle:
- AffineNet: the probe writes the judge's values into `parameters()` (names are the student's choice, so
  is the initial value), and the output must be slope * x + intercept for one of the two ways of reading
  them, in x's dtype and shape [N]. Training replays the notes' loop on noise-free data from the student's
  own start: 300 SGD steps (lr 0.5) on y = 5x + 3, x in [0, 1), reach (5, 3) to ~1e-6 whatever the start
  (the slow direction of this quadratic shrinks by 0.934 per step, 300 steps give 1e-9); 1e-3 is allowed.
- make_mlp: the judge rebuilds nn.Sequential(Linear, ReLU, ..., Linear) with the student's own Linear
  weights loaded and compares outputs (float64 oracle; float32 answers within 1e-4).
- predict: the probe hands over instrumented models (BatchNorm with running statistics far from any batch's
  own, Dropout p = 0.5; a model whose forward calls F.dropout(h, p, training=self.training)); the judge
  computes the eval-mode output of the same weights here, and reads the modes, the grad mode and the
  BatchNorm statistics that the instruments recorded.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from grader.engine.checks import Fail, StudentError, check
from grader.judging.compare import shape
from grader.probes.lesson2 import (
    build_model,
    probe_affine_fit,
    probe_affine_forward,
    probe_affine_parameters,
    probe_affine_state_dict,
    probe_affine_to,
    probe_mlp,
    probe_predict,
)

NOTES_X = torch.arange(100, dtype=torch.float32) / 100  # the notes' inputs: 0.00, 0.01, ..., 0.99
FIT = {"steps": 300, "lr": 0.5, "slope": 5.0, "intercept": 3.0, "tolerance": 1e-3}


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------------------------------------------
# AffineNet
# ------------------------------------------------------------------------------------------------------
def registration_problem(r: dict) -> str | None:
    """What keeps AffineNet from holding exactly two registered, trainable one-number parameters."""
    params, hidden = r["params"], r["hidden"]
    plain = [h for h in hidden if h["container"] is None]
    boxed = [h for h in hidden if h["container"] is not None and h["tensors"]]
    names = ", ".join(f"`{p['name']}`" for p in params)
    listed = f"AffineNet().parameters() lists only {names}" if params else "AffineNet().parameters() is empty"
    if boxed and len(params) < 2:
        h = boxed[0]
        return (f"{listed}: `{h['name']}` is a Python {h['container']} holding "
                f"{h['tensors']} tensor(s), and nn.Module does not look inside Python lists, tuples or dicts, so "
                "parameters(), state_dict() and .to() never see them. Give each nn.Parameter its own attribute "
                "(self.a = nn.Parameter(...)), or use nn.ParameterList.")
    if plain and len(params) < 2:
        shown = ", ".join(f"`{h['name']}`" for h in plain)
        kind = "is a plain tensor" if len(plain) == 1 else "are plain tensors"
        return (f"{listed}: {shown} {kind} (requires_grad=True does not change that). nn.Module registers only "
                "nn.Parameter attributes (and submodules), so an optimizer, state_dict() and .to() never see them. "
                "Wrap each in nn.Parameter: self.a = nn.Parameter(torch.rand(1)).")
    if not params and r["buffers"]:
        return (f"AffineNet().parameters() is empty: {', '.join(r['buffers'])} are registered as buffers "
                "(register_buffer), which state_dict() saves and .to() moves, but which no optimizer trains. "
                "Make a and b nn.Parameters.")
    if not params:
        return ("AffineNet().parameters() is empty: nothing for an optimizer to train. Create a and b as "
                "nn.Parameter attributes in __init__ (self.a = nn.Parameter(torch.rand(1))).")
    if len(params) != 2:
        return (f"AffineNet().parameters() lists {len(params)} parameters ({names}); y = a * x + b needs exactly "
                "two, one number each.")
    for p in params:
        if p["numel"] != 1:
            return (f"parameter `{p['name']}` holds {p['numel']} numbers (shape {p['shape']}); a and b are one "
                    "number each (shape [1] or []).")
    for p in params:
        if not p["requires_grad"]:
            return (f"parameter `{p['name']}` has requires_grad=False, so no optimizer ever changes it. "
                    "nn.Parameter(t) requires grad by default: drop requires_grad=False.")
    return None


def _close(got: torch.Tensor, expected: torch.Tensor, dtype: torch.dtype) -> bool:
    tol = 1e-12 if dtype == torch.float64 else 2e-6
    scale = float(expected.abs().max()) if expected.numel() else 0.0
    return bool(torch.allclose(got.double(), expected, rtol=tol, atol=tol * max(1.0, scale)))


def judge_affine(r: dict, values: tuple[float, float], x: torch.Tensor, device: str, what: str) -> int | None:
    """Judge one AffineNet forward; return which parameter (0 or 1, in parameters() order) is the slope."""
    if not r["written"]:
        raise Fail(f"{what}: the grader sets a and b through parameters(), and cannot: "
                   f"{registration_problem(r) or 'it needs two parameters of one number each'}")
    n, y = x.shape[0], r["y"]
    if r["shape"] != [n]:
        raise Fail(f"{what}: {_shape_problem(r['shape'], n)}")
    if r["device"] != device:
        raise Fail(f"{what}: x was on {device} but the output is on {r['device']}")
    if r["dtype"] != str(x.dtype):
        raise Fail(f"{what}: x is {x.dtype} but the output is {r['dtype']}: compute with the parameters and x "
                   "only (no new tensors of a fixed dtype).")
    u, v = values
    x64 = x.double()
    candidates = [u * x64 + v, v * x64 + u]
    for slope, expected in enumerate(candidates):
        if _close(y, expected, x.dtype):
            return slope if n and not torch.equal(candidates[0], candidates[1]) else None
    diff = min(float((y.double() - c).abs().max()) for c in candidates)
    for label, expected in (("a * x (b is never added)", u * x64), ("a * x (b is never added)", v * x64),
                            ("a + b (x is ignored)", torch.full_like(x64, u + v))):
        if _close(y, expected, x.dtype):
            raise Fail(f"{what}: the output is {label}; forward must return a * x + b.")
    raise Fail(f"{what}: with its two parameters set to {u:g} and {v:g}, AffineNet should return {u:g} * x + "
               f"{v:g} (or {v:g} * x + {u:g}, if the second is the slope); the output differs from both by up "
               f"to {diff:.3g}.")


def _shape_problem(got: list[int], n: int) -> str:
    if got == [n, 1]:
        m = n if n > 1 else "N"
        return (f"returned shape [{n}, 1] for x of shape [{n}]: nn.Linear keeps the feature dim. Squeeze it, "
                f"squeeze(1) or squeeze(-1), so that y has x's shape [{n}]. Left as [{m}, 1], a loss against a "
                f"target of shape [{m}] broadcasts to [{m}, {m}] and compares every prediction with every target.")
    if got == [] and n == 1:
        return ("returned a 0-dim tensor for x of shape [1]: squeeze() without a dim also dropped the batch dim, "
                "which is 1 here. Name the dim: squeeze(1) (or squeeze(-1)).")
    if got == [n, n] and n > 1:
        return (f"returned shape [{n}, {n}] for x of shape [{n}]: a [{n}, 1] tensor met a [{n}] one and "
                "broadcasting built every pair. Keep every term of the forward [N] (or [N, 1], squeezed before "
                "it meets a [N] tensor).")
    if got == [1, n]:
        return (f"returned shape [1, {n}] for x of shape [{n}]: a parameter of shape [1, 1] broadcast the "
                "result up to 2 dims. Make a and b shape [1] (or []), or squeeze the result.")
    return f"returned shape {got} for x of shape [{n}]; expected [{n}], one output per input"


@check("AffineNet", "seed_example")
def affine_seed_example(sub, device: str, spec) -> str:
    r = sub.call(probe_affine_forward, [5.0, 3.0], NOTES_X, device)
    judge_affine(r, (5.0, 3.0), NOTES_X, device, "the notes' x = arange(100) / 100, parameters set to 5 and 3")
    return "with its parameters set to 5 and 3, maps the notes' x to 5x + 3 (shape [100])"


@check("AffineNet", "output_shape")
def affine_output_shape(sub, device: str, spec) -> str:
    for n in (7, 1):
        x = torch.linspace(-1.0, 2.0, n) if n > 1 else torch.tensor([0.5])
        r = sub.call(probe_affine_forward, [2.0, -1.0], x, device)
        judge_affine(r, (2.0, -1.0), x, device, f"x of shape [{n}]")
    return "x of shape [N] gives y of shape [N] (N = 7 and N = 1)"


@check("AffineNet", "parameters_registered")
def affine_parameters_registered(sub, device: str, spec) -> str:
    r = sub.call(probe_affine_parameters, 0)
    problem = registration_problem(r)
    if problem:
        raise Fail(problem)
    names = [p["name"] for p in r["params"]]
    if sorted(r["state_keys"]) != sorted(names):
        raise Fail(f"state_dict() has the keys {r['state_keys']}, but the parameters are {names}: a and b "
                   "should be all that this model saves.")
    return f"two one-number parameters ({', '.join(names)}), both in state_dict() and trainable"


@check("AffineNet", "moves_with_to")
def affine_moves_with_to(sub, device: str, spec) -> str:
    values, x = (1 / 3, -2 / 7), torch.linspace(-2.0, 3.0, 9, dtype=torch.float64)
    r = sub.call(probe_affine_to, list(values), x, device)
    moves = f"model.to({device!r}) and model.to(torch.float64)" if device != "cpu" else "model.to(torch.float64)"
    for h in r["hidden"]:
        if h["tensors"] and (h["floating"] and h["dtype"] != "torch.float64" or h["device"] != device):
            where = (f"`{h['name']}` is still {h['dtype'].removeprefix('torch.')} on {h['device']}"
                     if h["container"] is None else
                     f"`{h['name']}` (a Python {h['container']}) still holds {h['dtype'].removeprefix('torch.')} "
                     f"tensors on {h['device']}")
            raise Fail(f"after {moves}, {where}: .to() converts and moves registered parameters, buffers and "
                       "submodules, never plain tensor attributes or tensors in Python containers. Make a and b "
                       "nn.Parameters.")
    for p in r["params"]:
        if p["dtype"] != "torch.float64" or p["device"] != device:
            raise Fail(f"after {moves}, parameter `{p['name']}` is {p['dtype']} on {p['device']}")
    what = f"after {moves}, x float64 on {device}"
    if r.get("error"):
        raise Fail(f"{what}: forward raised {r['error']}")
    judge_affine(r, values, x, device, what)
    return f"{moves} converts both parameters; forward then computes in float64"


@check("AffineNet", "trains_with_sgd")
def affine_trains_with_sgd(sub, device: str, spec) -> str:
    x = NOTES_X
    y = FIT["slope"] * x + FIT["intercept"]
    r = sub.call(probe_affine_fit, x, y, FIT["steps"], FIT["lr"], device)
    what = f"the notes' loop ({FIT['steps']} SGD steps, lr {FIT['lr']}, MSELoss) on y = 5x + 3 without noise"
    if not r["ran"]:
        if not r["params"]:
            raise Fail(f"{what}: nothing to train. {registration_problem(r)}")
        if r["shape"] != list(y.shape):
            raise Fail(f"{what}: {_shape_problem(r['shape'], len(x))}")
        raise Fail(f"{what}: AffineNet's output does not require grad, so loss.backward() cannot reach a and b. "
                   "forward used detached copies of the parameters (.data, .detach(), .item() or torch.tensor(...) "
                   "of them): compute with self.a and self.b themselves.")
    params, final = r["params"], [float(t.reshape(-1)[0]) for t in r["final"]]
    for p, none, start in zip(params, r["grads_none"], r["initial"]):
        if none:
            reason = ("it has requires_grad=False" if not p["requires_grad"] else
                      "forward does not use it, or uses a detached copy (.data, .detach(), .item())")
            raise Fail(f"{what}: no gradient ever reached parameter `{p['name']}` ({reason}), so it stayed at "
                       f"{float(start.reshape(-1)[0]):.4g}.")
    target = {FIT["slope"], FIT["intercept"]}
    if len(final) != 2 or any(min(abs(f - t) for t in target) > FIT["tolerance"] for f in final) or \
            abs(final[0] - final[1]) < 1:
        shown = ", ".join(f"{p['name']} = {f:.5g}" for p, f in zip(params, final))
        raise Fail(f"{what}: the parameters end at {shown}; the slope should reach 5 and the intercept 3 "
                   f"(loss {r['losses'][0]:.4g} at the first step, {r['losses'][1]:.3g} at the last).")
    shown = ", ".join(f"{p['name']} = {f:.4f}" for p, f in zip(params, final))
    return f"{what}: {shown}"


@check("AffineNet", "state_dict_round_trip")
def affine_state_dict_round_trip(sub, device: str, spec) -> str:
    x = torch.linspace(-1.0, 1.0, 5)
    r = sub.call(probe_affine_state_dict, x)
    names = [p["name"] for p in r["params"]]
    if not r["state_keys"]:
        raise Fail("state_dict() is empty, so saving this model saves nothing. "
                   + (registration_problem(r) or ""))
    if sorted(r["state_keys"]) != sorted(names) or len(names) != 2:
        raise Fail(f"state_dict() has the keys {r['state_keys']}; expected the two parameters a and b only "
                   f"(parameters: {names}).")
    if r["error"]:
        raise Fail(f"loading one AffineNet's state_dict() into another raised {r['error']}")
    if not torch.allclose(r["y_after"], r["y_first"], rtol=1e-6, atol=1e-6):
        raise Fail("after second.load_state_dict(first.state_dict()), the two models still give different outputs: "
                   "forward must use the registered parameters only.")
    return "state_dict() holds a and b; loading it into a fresh AffineNet reproduces the outputs"


@check("AffineNet", "matches_formula")
def affine_matches_formula(sub, device: str, spec) -> str:
    from hypothesis import strategies as st

    from grader.judging.props import for_all
    from grader.judging.strategies import seeds

    numbers = st.floats(-10, 10, allow_nan=False).map(lambda f: round(f, 3))
    pairs = st.tuples(numbers, numbers).map(lambda p: p if p[0] != p[1] else (p[0], p[0] + 1.0))
    strategy = st.tuples(pairs, st.integers(0, 40), st.sampled_from(["float32", "float64"]), seeds)
    slopes: set[int] = set()

    def body(example) -> None:
        (u, v), n, dtype, seed = example
        x = (torch.randn(n, generator=_generator(seed), dtype=torch.float64) * 3).to(getattr(torch, dtype))
        r = sub.call(probe_affine_forward, [u, v], x, device)
        slope = judge_affine(r, (u, v), x, device, "output")
        if slope is not None:
            slopes.add(slope)
            if len(slopes) > 1:
                raise Fail("the parameter acting as the slope changed from one model to the next")

    n = for_all(strategy, body, max_examples=spec.examples,
                describe=lambda e: f"parameters {e[0][0]:g} and {e[0][1]:g}, x of shape [{e[1]}] ({e[2]})")
    return f"equals slope * x + intercept on {n} drawn parameters, sizes and dtypes"


# ------------------------------------------------------------------------------------------------------
# make_mlp
# ------------------------------------------------------------------------------------------------------
def mlp_oracle(sizes: list[int], linears: list[dict], x: torch.Tensor) -> torch.Tensor:
    """Linear, ReLU, ..., Linear of `sizes` with the student's Linear weights, composed with F.linear in float64."""
    return _composed(sizes, linears, x, torch.relu)


def _composed(sizes: list[int], linears: list[dict], x: torch.Tensor, act, last=None) -> torch.Tensor:
    h = x.double()
    for i, w in enumerate(linears):
        h = F.linear(h, w["weight"], w["bias"])
        if i < len(linears) - 1 and act is not None:
            h = act(h)
    return last(h) if last is not None else h


def _leaves_text(r: dict) -> str:
    return ", ".join(leaf["type"] for leaf in r["leaves"])


def judge_mlp(r: dict, sizes: list[int], x: torch.Tensor, device: str, dtype: torch.dtype = torch.float32) -> None:
    what = f"make_mlp({sizes}) on x of shape {shape(x)}"
    boxed = [h for h in r["hidden"] if h["container"] is not None]
    if boxed:
        h = boxed[0]
        held = f"{h['modules']} module(s)" if h["modules"] else f"{h['tensors']} tensor(s)"
        raise Fail(f"{what}: `{h['name']}` is a Python {h['container']} holding {held}, "
                   "and nn.Module does not register what sits in a Python list: parameters(), state_dict() and "
                   ".to() miss them, so no optimizer would train them. Pass the layers to nn.Sequential(*layers) "
                   "(or keep them in an nn.ModuleList).")
    if not r["sequential"]:
        raise Fail(f"{what}: returned a {r['type']}, not an nn.Sequential. Build the layers in a list and return "
                   "nn.Sequential(*layers).")
    expected_pairs = list(zip(sizes, sizes[1:]))
    linears = [leaf for leaf in r["leaves"] if leaf["type"] == "Linear"]
    if len(linears) != len(expected_pairs):
        raise Fail(f"{what}: found {len(linears)} nn.Linear layer(s) ({_leaves_text(r) or 'no layers'}); expected "
                   f"len(sizes) - 1 = {len(expected_pairs)}, one per consecutive pair sizes[i] -> sizes[i + 1].")
    for i, (leaf, (n_in, n_out)) in enumerate(zip(linears, expected_pairs)):
        if (leaf["in_features"], leaf["out_features"]) != (n_in, n_out):
            raise Fail(f"{what}: Linear layer {i + 1} maps {leaf['in_features']} -> {leaf['out_features']} "
                       f"features; expected {n_in} -> {n_out} (sizes[{i}] -> sizes[{i + 1}]).")
        if not leaf["bias"]:
            raise Fail(f"{what}: Linear layer {i + 1} has no bias; keep nn.Linear's default bias=True.")
    if r["sizes_after"] != sizes:
        raise Fail(f"{what}: make_mlp changed the list it was given (now {r['sizes_after']}); read sizes, do not "
                   "modify the caller's list.")
    if r["error"]:
        raise Fail(f"{what}: " + (f"after model.to(torch.float64), forward raised {r['error']}"
                                  if dtype == torch.float64 else f"forward raised {r['error']}"))
    if not r["moved"]:
        raise Fail(f"{what}: model.to(...) did not return the model itself")
    n = x.shape[0]
    if r["shape"] != [n, sizes[-1]]:
        raise Fail(f"{what}: output shape {r['shape']}, expected [{n}, {sizes[-1]}]")
    if r["device"] != device:
        raise Fail(f"{what}: x was on {device} but the output is on {r['device']}")
    if r["dtype"] != str(dtype):
        raise Fail(f"{what}: the output is {r['dtype']}, expected {dtype}")
    y = r["y"].double()
    tol = {"rtol": 1e-9, "atol": 1e-10} if dtype == torch.float64 else {"rtol": 1e-4, "atol": 1e-5}
    expected = mlp_oracle(sizes, r["linears"], x)
    if torch.allclose(y, expected, **tol):
        return
    diagnosis = _diagnose_mlp(y, sizes, r, x, tol)
    diff = float((y - expected).abs().max())
    diagnosis = diagnosis or "the output differs from Linear, ReLU, ..., ReLU, Linear built from your own layers"
    raise Fail(f"{what}: {diagnosis} (largest difference {diff:.3g}; your layers: {_leaves_text(r)}).")


def _diagnose_mlp(y: torch.Tensor, sizes: list[int], r: dict, x: torch.Tensor, tol: dict) -> str | None:
    linears = r["linears"]
    endings = [
        ("ReLU", torch.relu, "its outputs are never negative ({zeros} of {count} are exactly 0 here)"),
        ("Softmax", lambda h: torch.softmax(h, -1), "its outputs are probabilities (each row sums to 1)"),
        ("LogSoftmax", lambda h: torch.log_softmax(h, -1), "its outputs are log-probabilities"),
        ("Sigmoid", torch.sigmoid, "its outputs are squashed into (0, 1)"),
        ("Tanh", torch.tanh, "its outputs are squashed into (-1, 1)"),
    ]
    for name, fn, symptom in endings:
        if torch.allclose(y, _composed(sizes, linears, x, torch.relu, fn), **tol):
            zeros = int((y == 0).sum())
            return (f"make_mlp ends in a {name} after the last Linear: {symptom.format(zeros=zeros, count=y.numel())}. "
                    "Return raw logits: no activation after the last Linear (nn.CrossEntropyLoss applies "
                    "log-softmax itself, and logits must be free to be negative).")
    if len(linears) > 1 and torch.allclose(y, _composed(sizes, linears, x, None), **tol):
        return ("there is no ReLU between the Linear layers: a stack of Linear layers without activations is one "
                "linear map, whatever its depth. Put nn.ReLU() between consecutive Linear layers")
    for name, fn in (("Sigmoid", torch.sigmoid), ("Tanh", torch.tanh), ("LeakyReLU", F.leaky_relu),
                     ("GELU", F.gelu)):
        if len(linears) > 1 and torch.allclose(y, _composed(sizes, linears, x, fn), **tol):
            return f"the activation between the Linear layers is a {name}; the exercise asks for nn.ReLU()"
    return None


def _mlp_inputs(sizes: list[int], n: int, seed: int) -> torch.Tensor:
    return torch.randn(n, sizes[0], generator=_generator(seed))


def _run_mlp(sub, sizes: list[int], n: int, seed: int, device: str, dtype: torch.dtype = torch.float32) -> dict:
    x = _mlp_inputs(sizes, n, seed)
    r = sub.call(probe_mlp, sizes, x, device, str(dtype).removeprefix("torch."), seed)
    judge_mlp(r, sizes, x.to(dtype), device, dtype)
    return r


@check("make_mlp", "seed_example")
def mlp_seed_example(sub, device: str, spec) -> str:
    _run_mlp(sub, [64, 32, 10], 5, seed=1, device=device)
    return "make_mlp([64, 32, 10]) is the notes' Linear(64, 32), ReLU, Linear(32, 10)"


@check("make_mlp", "linear_layers")
def mlp_linear_layers(sub, device: str, spec) -> str:
    for sizes in ([4, 8, 3], [5, 16, 16, 8, 2]):
        _run_mlp(sub, sizes, 6, seed=len(sizes), device=device)
    return "one nn.Linear per consecutive pair of sizes, in order, with bias"


@check("make_mlp", "relu_between")
def mlp_relu_between(sub, device: str, spec) -> str:
    _run_mlp(sub, [5, 16, 16, 8, 2], 7, seed=11, device=device)
    return "ReLU between consecutive Linear layers (3 of them for 4 layers)"


@check("make_mlp", "raw_logits")
def mlp_raw_logits(sub, device: str, spec) -> str:
    sizes = [4, 8, 3]
    r = _run_mlp(sub, sizes, 16, seed=12, device=device)
    negative = int((r["y"] < 0).sum())
    if negative == 0:  # cannot happen once the values match (the oracle has negatives here), kept as a guard
        raise Fail("no output is negative: the model ends in an activation; return raw logits")
    return f"ends with a Linear: raw logits ({negative} of {r['y'].numel()} negative here)"


@check("make_mlp", "two_sizes")
def mlp_two_sizes(sub, device: str, spec) -> str:
    for sizes in ([3, 2], [6, 1]):  # one Linear, and its output as it is (judge_mlp names an activation after it)
        _run_mlp(sub, sizes, 5, seed=13 + sizes[0], device=device)
    return "two sizes give a single Linear, with no activation"


@check("make_mlp", "parameters_registered")
def mlp_parameters_registered(sub, device: str, spec) -> str:
    sizes = [4, 8, 3]
    r = _run_mlp(sub, sizes, 6, seed=14, device=device, dtype=torch.float64)
    expected = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    count = sum(p["numel"] for p in r["params"])
    if count != expected:
        raise Fail(f"make_mlp({sizes}).parameters() holds {count} numbers; two Linear layers with bias hold "
                   f"{expected}. Layers outside nn.Sequential (or an nn.ModuleList) are not registered.")
    if len(r["state_keys"]) != 2 * (len(sizes) - 1):
        raise Fail(f"make_mlp({sizes}).state_dict() has {len(r['state_keys'])} entries ({r['state_keys']}); "
                   f"expected a weight and a bias per Linear layer, {2 * (len(sizes) - 1)}.")
    return (f"{count} numbers in parameters(), {len(r['state_keys'])} state_dict entries; .to(torch.float64) "
            "converts them")


@check("make_mlp", "drawn_sizes")
def mlp_drawn_sizes(sub, device: str, spec) -> str:
    from hypothesis import strategies as st

    from grader.judging.props import for_all
    from grader.judging.strategies import seeds

    strategy = st.tuples(st.lists(st.integers(1, 12), min_size=2, max_size=5), st.integers(1, 5), seeds)

    def body(example) -> None:
        sizes, n, seed = example
        _run_mlp(sub, sizes, n, seed, device)

    n = for_all(strategy, body, max_examples=spec.examples, describe=lambda e: f"sizes {e[0]}, batch {e[1]}")
    return f"equals Linear/ReLU/.../Linear with the same weights on {n} drawn size lists"


# ------------------------------------------------------------------------------------------------------
# predict
# ------------------------------------------------------------------------------------------------------
ARCH = {"features": 6, "hidden": 16, "out": 3, "p": 0.5}
FUNCTIONAL = {**ARCH, "functional": True}


def _predict(sub, device: str, *, arch: dict = ARCH, seed: int, start_mode: str, n: int = 8, **extra
             ) -> tuple[dict, torch.Tensor]:
    x = torch.randn(n, arch["features"], generator=_generator(seed + 100))
    scenario = {"arch": arch, "seed": seed, "start_mode": start_mode, **extra}
    return sub.call(probe_predict, scenario, x, device), x


def eval_oracle(arch: dict, seed: int, state: dict, x: torch.Tensor) -> torch.Tensor:
    net = build_model(arch, seed)
    net.load_state_dict(state)
    net.eval()
    with torch.no_grad():
        return net(x)


def _train_mode_seen(r: dict) -> bool:
    return any(f["training"] or any(f["layers"]) for f in r["forwards"])


def judge_outputs(r: dict, arch: dict, seed: int, x: torch.Tensor, device: str, what: str) -> None:
    expected = eval_oracle(arch, seed, r["state_before"], x)
    if not r["forwards"]:
        raise Fail(f"{what}: predict never called the model")
    for i, out in enumerate(r["outputs"]):
        call = f"{what}, call {i + 1}" if len(r["outputs"]) > 1 else what
        if out["shape"] != list(expected.shape):
            raise Fail(f"{call}: predict returned shape {out['shape']}; the model's output has shape "
                       f"{list(expected.shape)}. Return model(x) as it is.")
        if out["device"] != device:
            raise Fail(f"{call}: the model and x were on {device}, the output is on {out['device']}")
        if not torch.allclose(out["y"].float(), expected, rtol=1e-4, atol=1e-5):
            diff = float((out["y"].float() - expected).abs().max())
            if _train_mode_seen(r):
                raise Fail(f"{call}: the output differs from the model's eval-mode output by up to {diff:.3g}: the "
                           "forward ran in train mode, so dropout zeroed units at random and BatchNorm normalized "
                           "with this batch's own statistics. Call model.eval() before the forward.")
            raise Fail(f"{call}: the output differs from model(x) in eval mode by up to {diff:.3g}")


@check("predict", "eval_outputs")
def predict_eval_outputs(sub, device: str, spec) -> str:
    r, x = _predict(sub, device, seed=10, start_mode="train")
    judge_outputs(r, ARCH, 10, x, device, "a model with BatchNorm and Dropout, handed over in train mode")
    return "returns the model's eval-mode output (dropout off, BatchNorm on its running statistics)"


@check("predict", "eval_mode")
def predict_eval_mode(sub, device: str, spec) -> str:
    r, _ = _predict(sub, device, seed=11, start_mode="train")
    if not r["forwards"]:
        raise Fail("predict never called the model")
    before, after = r["state_before"], r["state_after"]
    for i, f in enumerate(r["forwards"]):
        if any(f["layers"]):
            drift = float((after["body.1.running_mean"] - before["body.1.running_mean"]).abs().max())
            raise Fail(f"forward {i + 1} of predict ran with Dropout and BatchNorm in train mode: dropout dropped "
                       "units at random, and BatchNorm normalized with the batch's statistics and updated its "
                       f"running mean (it moved by up to {drift:.3g}), so a prediction changed the model. Call "
                       "model.eval() first.")
    for name in ("body.1.running_mean", "body.1.running_var", "body.1.num_batches_tracked"):
        if not torch.equal(after[name], before[name]):
            raise Fail(f"predict changed BatchNorm's {name.split('.')[-1]}: predicting must not change the model.")
    return "every forward in eval mode; BatchNorm's running statistics unchanged"


@check("predict", "no_graph")
def predict_no_graph(sub, device: str, spec) -> str:
    r, _ = _predict(sub, device, seed=12, start_mode="eval")
    recording = [f for f in r["forwards"] if f["grad_enabled"]]
    out = r["outputs"][0]
    if recording and not out["requires_grad"]:
        raise Fail("autograd recorded the forward: the output was detached afterwards (it has no grad_fn), but the "
                   "graph and the activations it saves were built for nothing. Run the forward inside "
                   "`with torch.no_grad():`.")
    if recording or out["requires_grad"] or out["grad_fn"]:
        raise Fail("predict's output requires grad (it has a grad_fn): autograd recorded the forward and kept every "
                   "activation for a backward that never comes. Run the forward inside `with torch.no_grad():`.")
    return "no autograd graph: the forward ran with grad disabled and the output does not require grad"


@check("predict", "restores_mode")
def predict_restores_mode(sub, device: str, spec) -> str:
    for start, seed in (("train", 13), ("eval", 14)):
        r, _ = _predict(sub, device, seed=seed, start_mode=start)
        wanted = start == "train"
        if r["mode_after"] != wanted or any(flag != wanted for flag in r["modes_after"]):
            after = "train" if r["mode_after"] else "eval"
            if r["mode_after"] == wanted:
                after = "a mix of train and eval (some submodules changed)"
            raise Fail(f"the model was in {start} mode before predict and in {after} mode after it: predict must "
                       "not change its caller's model. Save the mode (was_training = model.training) and put it "
                       "back (model.train(was_training)) before returning.")
    return "a model in train mode comes back in train mode, one in eval mode in eval mode"


@check("predict", "functional_dropout")
def predict_functional_dropout(sub, device: str, spec) -> str:
    r, x = _predict(sub, device, arch=FUNCTIONAL, seed=15, start_mode="train", calls=2)
    outputs = [o["y"] for o in r["outputs"]]
    own_flag = [f["training"] for f in r["forwards"]]
    if any(own_flag):
        differ = not torch.equal(outputs[0], outputs[1]) if len(outputs) == 2 else False
        seen = "two calls on the same input gave different outputs; " if differ else ""
        raise Fail(f"this model's forward calls F.dropout(h, p, training=self.training): {seen}the forward ran with "
                   "model.training = True, so F.dropout dropped units. A function cannot see a mode unless it is "
                   "told: it follows the model's own flag, which only model.eval() on the model itself sets "
                   "(putting the Dropout and BatchNorm layers in eval is not enough). Call model.eval().")
    judge_outputs(r, FUNCTIONAL, 15, x, device, "a model that calls F.dropout(h, p, training=self.training)")
    return "a model with functional dropout gives its deterministic eval-mode output"


@check("predict", "grad_mode_restored")
def predict_grad_mode_restored(sub, device: str, spec) -> str:
    for grad, seed in (("enabled", 16), ("disabled", 17)):
        r, _ = _predict(sub, device, seed=seed, start_mode="eval", grad=grad)
        after = r["grad_after"][0]
        if after != (grad == "enabled"):
            if grad == "enabled":
                raise Fail("after predict returned, autograd was switched off for its caller "
                           "(torch.is_grad_enabled() is False): the next training step would build no graph. "
                           "torch.set_grad_enabled(False) changes the mode for everything that runs afterwards; "
                           "use `with torch.no_grad():`, which restores it on exit.")
            raise Fail("called inside torch.no_grad(), predict returned with autograd switched on for its caller. "
                       "Do not set the grad mode globally; `with torch.no_grad():` restores whatever it was.")
    return "the caller's grad mode (on or off) is the same after predict"


@check("predict", "single_example")
def predict_single_example(sub, device: str, spec) -> str:
    try:
        r, x = _predict(sub, device, seed=18, start_mode="train", n=1)
    except StudentError as exc:
        if "Expected more than 1 value per channel" in str(exc):
            raise Fail(f"predict on a single example (x of shape [1, {ARCH['features']}]) {exc}. In train mode "
                       "BatchNorm normalizes with the batch's own statistics, which one example does not have. "
                       "Call model.eval() first.") from None
        raise
    judge_outputs(r, ARCH, 18, x, device, "a single example, model handed over in train mode")
    return "a batch of one example gives the eval-mode output"
