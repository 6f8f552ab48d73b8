"""Lesson 3 probes (child side): build the student's `Merge` / call `total_scores`, return plain data."""

from __future__ import annotations

import torch

from grader.engine.checks import StudentError
from grader.probes import pick, plain_tensor, probe, synchronize
from grader.probes.jacobians import jacobians
from grader.probes.ops import record_ops

ACTIVATIONS = {"none": None, "relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}
SPEED = {"a": [32, 512], "b": [32, 1], "in1": 32, "in2": 512, "out": 16, "repeats": 16, "baseline_repeats": 1}


def merge_inputs(a_lead, b_lead, in1: int, in2: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """a [*a_lead, in1] and b [*b_lead, in2] from `seed` (the judge builds the same ones to compare)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*a_lead, in1, generator=g), torch.randn(*b_lead, in2, generator=g)


def speed_inputs(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    return merge_inputs(SPEED["a"], SPEED["b"], SPEED["in1"], SPEED["in2"], seed)


def _merge(sub, in1: int, in2: int, out: int, activation: str, device: str, seed: int = 0,
           dtype: torch.dtype = torch.float32) -> torch.nn.Module:
    Merge = sub.get("Merge")
    torch.manual_seed(seed)
    module = Merge(in1, in2, out, activation=ACTIVATIONS[activation])
    if not isinstance(module, torch.nn.Module):
        raise StudentError(f"Merge(...) must build a torch.nn.Module, got {type(module).__name__}")
    return module.to(device=device, dtype=dtype)


def _linears(module: torch.nn.Module) -> tuple[torch.nn.Linear, torch.nn.Linear]:
    for name in ("linear1", "linear2"):
        layer = getattr(module, name, None)
        if not isinstance(layer, torch.nn.Linear) or layer.bias is None:
            raise StudentError(f"Merge needs a submodule `{name}` that is an nn.Linear with bias "
                               f"(found {type(layer).__name__}). Create it in __init__.")
    return module.linear1, module.linear2


def _weights(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    l1, l2 = _linears(module)
    return {"w1": l1.weight.detach().cpu(), "b1": l1.bias.detach().cpu(),
            "w2": l2.weight.detach().cpu(), "b2": l2.bias.detach().cpu()}


@probe("lesson3")
def probe_merge_forward(sub, in1: int, in2: int, out: int, activation: str, a: torch.Tensor,
                        b: torch.Tensor, device: str) -> dict:
    module = _merge(sub, in1, in2, out, activation, device)
    weights = _weights(module)
    y = plain_tensor(module(a.to(device), b.to(device)), "Merge.forward")
    return {"y": y.detach().cpu(), "device": y.device.type, **weights}


@probe("lesson3")
def probe_merge_parameters(sub, in1: int, in2: int, out: int) -> dict:
    """The registered parameters alone (no forward pass), so a missing Linear is named as such."""
    module = _merge(sub, in1, in2, out, "tanh", "cpu")
    named = list(module.named_parameters())
    return {"names": [n for n, _ in named], "numels": [p.numel() for _, p in named],
            "linears": [name for name in ("linear1", "linear2")
                        if isinstance(getattr(module, name, None), torch.nn.Linear)]}


@probe("lesson3")
def probe_merge_training_step(sub, in1: int, in2: int, out: int, a: torch.Tensor, b: torch.Tensor,
                              device: str) -> dict:
    module = _merge(sub, in1, in2, out, "tanh", device)
    a, b = a.to(device), b.to(device)
    named = list(module.named_parameters())
    before = plain_tensor(module(a, b), "Merge.forward").detach().clone()
    if named:  # one plain SGD step over .parameters(), as any optimizer would take it
        module(a, b).square().sum().backward()
        with torch.no_grad():
            for p in module.parameters():
                if p.grad is not None:
                    p -= 0.5 * p.grad
    after = module(a, b).detach()
    return {"names": [n for n, _ in named], "numels": [p.numel() for _, p in named],
            "changed": not torch.equal(before, after)}


@probe("lesson3")
def probe_merge_grads(sub, in1: int, in2: int, out: int, activation: str, a: torch.Tensor,
                      b: torch.Tensor, cotangent: torch.Tensor, device: str) -> dict:
    module = _merge(sub, in1, in2, out, activation, device)
    l1, l2 = _linears(module)
    a = a.to(device).requires_grad_(True)
    b = b.to(device).requires_grad_(True)
    y = plain_tensor(module(a, b), "Merge.forward")
    if not y.requires_grad:
        return {"requires_grad": False, "y": y.detach().cpu(), **_weights(module)}
    (y * cotangent.to(device)).sum().backward()
    grads = {"a": a.grad, "b": b.grad, "w1": l1.weight.grad, "b1": l1.bias.grad, "w2": l2.weight.grad,
             "b2": l2.bias.grad}
    return {"requires_grad": True, "y": y.detach().cpu(), **_weights(module),
            "grads": {k: (None if g is None else g.detach().cpu()) for k, g in grads.items()}}


@probe("lesson3")
def probe_merge_jacobians(sub, a: torch.Tensor, b: torch.Tensor, out: int, device: str) -> dict:
    module = _merge(sub, a.shape[-1], b.shape[-1], out, "tanh", device, dtype=torch.float64)
    l1, l2 = _linears(module)
    names = {id(p): n for n, p in module.named_parameters()}
    keys = [names.get(id(p)) for p in (l1.weight, l1.bias, l2.weight, l2.bias)]
    if None in keys:
        raise StudentError("linear1 and linear2 must be registered submodules of Merge")

    def forward(a, b, w1, b1, w2, b2):
        params = dict(zip(keys, (w1, b1, w2, b2)))
        return torch.func.functional_call(module, params, (a, b))

    inputs = [a.to(device), b.to(device)] + [p.detach() for p in (l1.weight, l1.bias, l2.weight, l2.bias)]
    return {**jacobians(forward, inputs), "weights": _weights(module)}


@probe("lesson3")
def probe_merge_ops(sub, a: torch.Tensor, b: torch.Tensor, out: int, device: str) -> dict:
    module = _merge(sub, a.shape[-1], b.shape[-1], out, "relu", device)
    a, b = a.to(device), b.to(device)
    module(a, b)  # warm-up outside the recording (lazy initialisation)
    ops = record_ops(lambda: plain_tensor(module(a, b), "Merge.forward"))
    y = module(a, b)
    return {"ops": ops, "y": y.detach().cpu(), **_weights(module)}


@probe("lesson3")
def probe_merge_speed(sub, seeds: list[int], device: str):
    """Timed: the student's Merge on fresh inputs, one per seed. Returns (weights, go)."""
    module = _merge(sub, SPEED["in1"], SPEED["in2"], SPEED["out"], "none", device)
    inputs = [tuple(t.to(device) for t in speed_inputs(seed)) for seed in seeds]

    def go(which: list[int], flat_index: torch.Tensor) -> list[dict]:
        with torch.no_grad():
            outputs = [plain_tensor(module(a, b), "Merge.forward") for a, b in inputs]
        synchronize(device)
        return [pick(outputs[i], flat_index) for i in which]

    return _weights(module), go


@probe("lesson3")
def probe_repeat_cat_speed(sub, seeds: list[int], device: str):
    """Timed baseline (run in a clean process): tile b with repeat, concatenate, one Linear."""
    tiled = torch.nn.Linear(SPEED["in1"] + SPEED["in2"], SPEED["out"]).to(device)
    inputs = [tuple(t.to(device) for t in speed_inputs(seed)) for seed in seeds]
    repeats = [s_a // s_b if s_b == 1 else 1 for s_a, s_b in zip(SPEED["a"], SPEED["b"])] + [1]

    def go(which: list[int], flat_index: torch.Tensor) -> list[dict]:
        with torch.no_grad():
            outputs = [tiled(torch.cat([a, b.repeat(repeats)], dim=-1)) for a, b in inputs]
        synchronize(device)
        return [pick(outputs[i], flat_index) for i in which]

    return None, go


@probe("lesson3")
def probe_total_scores(sub, item_scores: torch.Tensor, bias: torch.Tensor, device: str) -> dict:
    total_scores = sub.get("total_scores")
    y = plain_tensor(total_scores(item_scores.to(device), bias.to(device)), "total_scores")
    return {"y": y.detach().cpu(), "device": y.device.type}


@probe("lesson3")
def probe_total_scores_grads(sub, item_scores: torch.Tensor, bias: torch.Tensor, cotangent: torch.Tensor,
                             device: str) -> dict:
    total_scores = sub.get("total_scores")
    x = item_scores.to(device).requires_grad_(True)
    c = bias.to(device).requires_grad_(True)
    y = plain_tensor(total_scores(x, c), "total_scores")
    if not y.requires_grad:
        return {"requires_grad": False, "y": y.detach().cpu()}
    if tuple(y.shape) == tuple(cotangent.shape):
        (y * cotangent.to(device)).sum().backward()
    return {"requires_grad": True, "y": y.detach().cpu(),
            "grads": {k: (None if t.grad is None else t.grad.detach().cpu()) for k, t in (("item_scores", x),
                                                                                         ("bias", c))}}


@probe("lesson3")
def probe_total_scores_jacobians(sub, item_scores: torch.Tensor, bias: torch.Tensor, device: str) -> dict:
    total_scores = sub.get("total_scores")
    return jacobians(lambda x, c: plain_tensor(total_scores(x, c), "total_scores"),
                     [item_scores.to(device), bias.to(device)])
