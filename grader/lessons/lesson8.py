"""Lesson 8 (the training loop): `train_one_epoch`, `evaluate`, `make_model`.

Judge side. Each check builds its data here, has a probe of grader.probes.lesson8 run the student's
function on an instrumented model, loss and optimizer in the child, and judges the record here:
- the parameters after the epoch against PyTorch's own big-batch steps, replayed here from the same
  initial weights (one optimizer step per group of k batches on their concatenation, mean loss);
- each optimizer step's gradients against the gradients computed here at the parameters that step saw,
  so that a wrong step is named (leaked, wiped, not divided by k, only the last micro-batch, ...);
- modes, autograd, device moves and live graphs as the instruments saw them;
- evaluate's loss and accuracy against this process's evaluation of the same weights;
- make_model's test accuracy from its logits, against labels that never leave this process.
"""

from __future__ import annotations

import functools
import math
import time

import torch
import torch.nn.functional as F

from grader.engine.checks import Fail, Measured, check
from grader.probes.lesson8 import (
    DIGITS,
    SPEED,
    build_net,
    make_optimizer,
    probe_digits,
    probe_epoch_speed,
    probe_evaluate,
    probe_model_outputs,
    probe_reference_epoch_speed,
    probe_train,
    reference_epoch,
    speed_case,
)

PLAIN = {"features": 6, "hidden": 12, "classes": 4}
MODES = {"features": 6, "hidden": 16, "classes": 4, "batchnorm": True, "dropout": 0.5}
SGD = {"name": "sgd", "lr": 0.2, "momentum": 0.9}
ADAM = {"name": "adam", "lr": 0.05}
REL = 1e-4  # float32: summing k micro-batch gradients vs one big batch differs by ~1e-7 relative

ZERO_GRAD = ("Call optimizer.zero_grad() once per optimizer step (before the first backward of the step, or right "
             "after step()): backward() adds to .grad, it never overwrites it.")


# ------------------------------------------------------------------------------------------------------
# Data and PyTorch's own answer, computed here
# ------------------------------------------------------------------------------------------------------
def _data(n: int, arch: dict, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, arch["features"], generator=g)
    y = torch.randint(0, arch["classes"], (n,), generator=g)
    return x, y


def _batches(x: torch.Tensor, y: torch.Tensor, size: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(x[i:i + size], y[i:i + size]) for i in range(0, len(x), size)]


def _groups(n_batches: int, k: int) -> list[list[int]]:
    return [list(range(i, min(i + k, n_batches))) for i in range(0, n_batches, k)]


def _net(arch: dict, state: dict[str, torch.Tensor]) -> torch.nn.Module:
    net = build_net(arch, 0)
    net.load_state_dict(state)
    return net


def _flat(tensors: dict[str, torch.Tensor | None], like: dict[str, torch.Tensor], names: list[str]) -> torch.Tensor:
    return torch.cat([(tensors.get(n) if tensors.get(n) is not None else torch.zeros_like(like[n]))
                      .double().reshape(-1) for n in names])


def _close(a: torch.Tensor, b: torch.Tensor, rel: float = REL) -> bool:
    return bool((a - b).norm() <= rel * max(float(a.norm()), float(b.norm())) + 1e-7)


def _grad(arch: dict, params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor,
          names: list[str]) -> torch.Tensor:
    """The gradient of the mean cross-entropy of (x, y) at `params`, flattened in `names` order."""
    net = build_net(arch, 0)
    net.load_state_dict(params, strict=False)  # the parameters; buffers (none in these scenarios) as built
    net.train()
    loss = F.cross_entropy(net(x), y)
    grads = torch.autograd.grad(loss, [dict(net.named_parameters())[n] for n in names])
    return torch.cat([g.double().reshape(-1) for g in grads])


def reference_trajectory(arch: dict, initial: dict, x: torch.Tensor, y: torch.Tensor, batch_size: int, k: int,
                         optimizer: dict) -> dict[str, torch.Tensor]:
    """PyTorch's answer: one optimizer step per group of k batches, on the group as one big batch."""
    net = _net(arch, initial)
    net.train()
    opt = make_optimizer(net.parameters(), optimizer)
    batches = _batches(x, y, batch_size)
    for group in _groups(len(batches), k):
        opt.zero_grad()
        gx = torch.cat([batches[i][0] for i in group])
        gy = torch.cat([batches[i][1] for i in group])
        F.cross_entropy(net(gx), gy).backward()
        opt.step()
    return {n: p.detach().clone() for n, p in net.named_parameters()}


def _stale(names: list[str], initial: dict[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {n: torch.randn(initial[n].shape, generator=g) for n in names}


# ------------------------------------------------------------------------------------------------------
# Judging train_one_epoch
# ------------------------------------------------------------------------------------------------------
def _train(sub, device: str, *, n: int, batch_size: int, k: int | None, optimizer: dict = SGD,
           arch: dict = PLAIN, seed: int = 0, **extra) -> tuple[dict, dict, torch.Tensor, torch.Tensor]:
    scenario = {"arch": arch, "seed": seed, "batch_size": batch_size, "k": k, "optimizer": optimizer, **extra}
    x, y = _data(n, arch, seed + 100)
    r = sub.call(probe_train, scenario, x, y, device)
    return scenario, r, x, y


def _what(scenario: dict, n: int) -> str:
    k = scenario["k"]
    n_batches = math.ceil(n / scenario["batch_size"])
    opt = scenario["optimizer"]
    name = "Adam" if opt["name"] == "adam" else f"SGD(momentum={opt.get('momentum', 0)})"
    acc = "default accumulation_steps" if k is None else f"accumulation_steps={k}"
    return f"{n_batches} batches of {scenario['batch_size']}, {acc}, {name}"


def _softmax_given(r: dict) -> bool:
    return any(e["given"] == "softmax" for e in r["losses"] if e["grad_enabled"])


SOFTMAX = ("the loss was given softmax probabilities, not the model's logits. nn.CrossEntropyLoss applies "
           "log-softmax itself: pass the raw outputs (loss_fn(model(inputs), targets)).")


def judge_steps(scenario: dict, r: dict, x: torch.Tensor, y: torch.Tensor, what: str) -> None:
    """Fail naming the first wrong optimizer step, then compare the final parameters with PyTorch's."""
    arch, names, k = scenario["arch"], r["names"], scenario["k"] or 1
    batches = _batches(x, y, scenario["batch_size"])
    groups = _groups(len(batches), k)
    steps = r["steps"]
    if _softmax_given(r):
        raise Fail(f"{what}: {SOFTMAX}")
    if not steps:
        raise Fail(f"{what}: optimizer.step() was never called, so the parameters never changed.")
    if len(steps) != len(groups):
        if k > 1 and len(steps) == len(batches):
            raise Fail(f"{what}: optimizer.step() ran after every one of the {len(batches)} micro-batches. With "
                       f"accumulation_steps={k}, add up the gradients of {k} batches (each loss divided by {k}) and "
                       f"step once per group: {len(groups)} steps here.")
        if len(batches) % k and len(steps) == len(batches) // k:
            raise Fail(f"{what}: {len(steps)} optimizer steps for {len(batches)} batches: the last "
                       f"{len(batches) % k} batch(es), a partial group, never reached optimizer.step(). After the "
                       "loop (or at the last batch), step the partial group too, its loss divided by its own "
                       "number of batches.")
        raise Fail(f"{what}: optimizer.step() ran {len(steps)} times; one step per group of {k} batch(es) is "
                   f"{len(groups)} here.")
    previous = _stale(names, r["initial"], scenario["stale_grads"]) if scenario.get("stale_grads") else None
    previous = _flat(previous, r["initial"], names) if previous is not None else None
    for j, (step, group) in enumerate(zip(steps, groups)):
        params = step["params"]
        got = _flat(step["grads"], params, names)
        per_batch = [_grad(arch, params, *batches[i], names) for i in group]
        m = len(group)
        expected = sum(per_batch) / m
        label = f"{what}: at optimizer step {j + 1} (batches {group[0] + 1}-{group[-1] + 1})" if m > 1 else \
            f"{what}: at optimizer step {j + 1} (batch {group[0] + 1})"
        if _close(got, expected):
            previous = got
            continue
        if float(got.norm()) == 0.0:
            raise Fail(f"{label} the gradients were all zero (or None): zero_grad() ran between backward() and "
                       "step(), wiping them, so step() changed nothing. Order: zero_grad, forward, loss, backward, "
                       "step.")
        if previous is not None and _close(got, expected + previous, 1e-3):
            source = "the stale gradients already in .grad when train_one_epoch was called" if j == 0 else \
                "the previous step's gradients"
            raise Fail(f"{label} the gradient was this step's plus {source}: gradients leak across steps. "
                       + ZERO_GRAD)
        if m > 1 and _close(got, sum(per_batch), 1e-3):
            raise Fail(f"{label} the gradient was the SUM of the {m} micro-batch gradients: divide each loss by the "
                       f"number of batches in the group ({m}) before backward(), so that the step equals one step "
                       "on the big batch with a mean loss.")
        if m < k and _close(got, expected * m / k, 1e-3):
            raise Fail(f"{label} the last, partial group of {m} batch(es) was divided by {k}, not by {m}: its "
                       f"step is {m}/{k} of the big-batch step. Divide a partial group's losses by its own size.")
        if m > 1 and any(_close(got, per_batch[-1] * s, 1e-3) for s in (1.0, 1 / m, 1 / k)):
            raise Fail(f"{label} only the last micro-batch's gradient reached step(): zero_grad() ran inside the "
                       f"accumulation, before every backward(). Zero once per group of {k}, after step().")
        if m == 1 and k > 1 and _close(got, expected / k, 1e-3):
            raise Fail(f"{label} the gradient of the last, partial group (1 batch) was divided by {k}: divide a "
                       "partial group's loss by its own number of batches (here 1).")
        diff = float((got - expected).norm() / max(float(expected.norm()), 1e-12))
        raise Fail(f"{label} the gradient differs from the gradient of the mean loss over these batches by "
                   f"{diff:.2g} (relative). Each step must use the mean loss of its own batches, once.")
    want = reference_trajectory(arch, r["initial"], x, y, scenario["batch_size"], k, scenario["optimizer"])
    got_final = _flat(r["final"], want, names)
    if not _close(got_final, _flat(want, want, names), 1e-3):
        raise Fail(f"{what}: every optimizer step used the right gradients, but the parameters after the epoch are "
                   "not the ones those steps give. Change the parameters only through optimizer.step().")


def _losses_in_training(r: dict) -> list[dict]:
    return [e for e in r["losses"] if e["grad_enabled"]]


def judge_returned(scenario: dict, r: dict, what: str) -> float:
    """The return value against the per-example mean of the losses the loss function computed."""
    returned, k = r["returned"], scenario["k"] or 1
    if returned["number"] is None or returned["type"] not in ("float", "int", "float64", "float32"):
        graph = " that still holds the autograd graph" if returned["graph"] else ""
        raise Fail(f"{what}: train_one_epoch returned {returned['type']}{graph}; return a Python float, the mean "
                   "loss per example (accumulate loss.item() * batch size, divide by the number of examples).")
    losses = _losses_in_training(r)
    rows = sum(e["rows"] for e in losses)
    expected = sum(e["value"] * e["rows"] for e in losses) / rows
    got = returned["number"]
    if math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-7):
        return expected
    values = [e["value"] for e in losses]
    sizes = sorted({e["rows"] for e in losses})
    candidates = [
        (sum(values) / len(values), "the plain mean of the batch means: the last batch has fewer examples "
                                    f"(batch sizes {sizes}), so each batch's loss must be weighted by its size"),
        (expected / k, f"the loss divided by accumulation_steps={k}: the division is for the gradients only; "
                       "report the unscaled loss"),
        (sum(values) / len(values) / k, f"the loss divided by accumulation_steps={k}, unweighted: report the "
                                        "unscaled loss, weighted by batch size"),
        (sum(values), "the sum of the batch losses: divide by the number of examples"),
        (expected * rows, "the total loss: divide by the number of examples"),
        (values[-1], "the last batch's loss: return the mean over the whole epoch"),
    ]
    for value, meaning in candidates:
        if math.isclose(got, value, rel_tol=1e-4) and not math.isclose(value, expected, rel_tol=1e-4):
            raise Fail(f"{what}: returned {got:.6g}, {meaning} (the mean loss per example is {expected:.6g}).")
    raise Fail(f"{what}: returned {got:.6g}; the mean loss per example over the epoch is {expected:.6g} (each "
               "batch's loss as computed in its forward pass, weighted by its number of examples).")


@check("train_one_epoch", "matches_plain_loop")
def matches_plain_loop(sub, device: str, spec) -> str:
    scenario, r, x, y = _train(sub, device, n=40, batch_size=8, k=None, seed=1)
    judge_steps(scenario, r, x, y, _what(scenario, 40))
    return "5 SGD steps with momentum: every step's gradient and the final parameters match PyTorch's loop"


@check("train_one_epoch", "train_mode")
def train_mode(sub, device: str, spec) -> str:
    scenario, r, _, _ = _train(sub, device, n=24, batch_size=8, k=None, arch=MODES, seed=2, start_mode="eval")
    if not r["forwards"]:
        raise Fail("train_one_epoch never called the model")
    for i, f in enumerate(r["forwards"]):
        if not f["training"] or not all(f["layers"]):
            raise Fail(f"forward {i + 1} of train_one_epoch ran in eval mode (the model was handed over in eval "
                       "mode, e.g. after evaluate): dropout was off and BatchNorm used its running statistics. "
                       "Call model.train() at the start of train_one_epoch.")
    return f"all {len(r['forwards'])} forwards in train mode (dropout and BatchNorm seen training), from eval mode"


@check("train_one_epoch", "returns_mean_loss")
def returns_mean_loss(sub, device: str, spec) -> str:
    scenario, r, _, _ = _train(sub, device, n=43, batch_size=10, k=None, seed=3)
    what = "43 examples in batches of 10 (the last has 3)"
    value = judge_returned(scenario, r, what)
    return f"{what}: returned {value:.5f}, the mean loss per example"


@check("train_one_epoch", "accumulation")
def accumulation(sub, device: str, spec) -> str:
    for n, k, seed in ((48, 3, 4), (32, 2, 5)):
        scenario, r, x, y = _train(sub, device, n=n, batch_size=8, k=k, seed=seed)
        what = _what(scenario, n)
        judge_steps(scenario, r, x, y, what)
        judge_returned(scenario, r, what)
    return "accumulation_steps 3 and 2: each step equals PyTorch's step on the k-times bigger batch"


@check("train_one_epoch", "accumulation_partial_group")
def accumulation_partial_group(sub, device: str, spec) -> str:
    for n, k, seed in ((56, 3, 6), (48, 4, 7)):
        scenario, r, x, y = _train(sub, device, n=n, batch_size=8, k=k, seed=seed)
        judge_steps(scenario, r, x, y, _what(scenario, n))
    return "7 batches with k=3 and 6 with k=4: the last partial group is stepped, scaled by its own size"


@check("train_one_epoch", "accumulation_adam")
def accumulation_adam(sub, device: str, spec) -> str:
    for n, k, seed in ((40, 2, 8), (24, 5, 9)):
        scenario, r, x, y = _train(sub, device, n=n, batch_size=8, k=k, seed=seed, optimizer=ADAM)
        judge_steps(scenario, r, x, y, _what(scenario, n))
    return "Adam, k=2 over 5 batches and k=5 over 3 (a single partial group): PyTorch's big-batch steps"


@check("train_one_epoch", "stale_gradients")
def stale_gradients(sub, device: str, spec) -> str:
    for k, seed in ((None, 10), (2, 11)):
        scenario, r, x, y = _train(sub, device, n=32, batch_size=8, k=k, seed=seed, stale_grads=77)
        judge_steps(scenario, r, x, y, _what(scenario, 32) + ", called with stale gradients in .grad")
    return "called with stale gradients in .grad (k=1 and k=2): none of them reached a step"


@check("train_one_epoch", "logits_to_loss")
def logits_to_loss(sub, device: str, spec) -> str:
    scenario, r, _, _ = _train(sub, device, n=24, batch_size=8, k=None, seed=12)
    losses = _losses_in_training(r)
    if not losses:
        raise Fail("train_one_epoch never called loss_fn with autograd on")
    if _softmax_given(r):
        raise Fail(SOFTMAX[0].upper() + SOFTMAX[1:])
    if any(e["target_requires_grad"] for e in losses):
        raise Fail("the targets given to the loss required grad. Targets are data, not something to optimize: pass "
                   "the loader's targets as they are (never torch.tensor(labels, requires_grad=True)).")
    return "the loss got the model's raw logits and targets that do not require grad"


def _moved(r: dict, fn: str) -> str:
    inputs = [f for f in r["forwards"] if f["not_moved"]]
    targets = [e for e in r["losses"] if e["not_moved"]]
    if inputs:
        raise Fail(f"{fn}: the model got the loader's inputs without .to(device) ({len(inputs)} of "
                   f"{len(r['forwards'])} forwards). On a GPU that raises \"Expected all tensors to be on the same "
                   "device\": move every batch, inputs.to(device) and targets.to(device).")
    if targets:
        raise Fail(f"{fn}: the loss got targets that were never moved with .to(device): move the targets too.")
    return f"{fn}: inputs and targets moved to the device"


@check("train_one_epoch", "moves_to_device")
def train_moves_to_device(sub, device: str, spec) -> str:
    _, r, _, _ = _train(sub, device, n=24, batch_size=8, k=None, seed=13)
    return _moved(r, "train_one_epoch")


@check("train_one_epoch", "no_graph_kept")
def no_graph_kept(sub, device: str, spec) -> str:
    scenario, r, _, _ = _train(sub, device, n=96, batch_size=8, k=None, seed=14)
    if r["alive_max"] > 1 or r["alive_after"] > 0:
        kept = max(r["alive_max"], r["alive_after"])
        raise Fail(f"12 batches: the autograd graphs of {kept} earlier steps were still alive "
                   f"{'after train_one_epoch returned' if r['alive_after'] else 'at a later step'}. A running total "
                   "of `loss` tensors (total += loss, or a list of them) chains every step's graph into one that "
                   "grows all epoch long. Accumulate plain numbers: total += loss.item() * batch size.",
                   measured=float(kept))
    return Measured(f"12 batches: no earlier step's graph alive at any later step ({r['graphs']} graphs built)",
                    float(r["alive_max"]))


@check("train_one_epoch", "speed_vs_reference")
def speed_vs_reference(sub, device: str, spec) -> str:
    from grader.judging.speed import compare_speed, expect_sampled

    def verify(info, seed, flat_index, picks) -> None:
        arch, x, y = speed_case(seed)
        net = build_net(arch, seed)
        reference_epoch(net, _batches(x, y, SPEED["batch_size"]),
                        torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9), torch.nn.CrossEntropyLoss(), "cpu")
        expected = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
        expect_sampled(picks[0], expected, flat_index, what="the parameters after one epoch", atol=1e-5, rtol=1e-3)

    numel = sum(p.numel() for p in build_net(speed_case(0)[0], 0).parameters())
    limit = spec.threshold("max_slowdown", device)
    times = compare_speed(sub, probe=probe_epoch_speed, baseline=probe_reference_epoch_speed, device=device,
                          repeats=SPEED["repeats"], baseline_repeats=SPEED["repeats"], numel=numel, verify=verify,
                          slowdown_limit=limit)
    ratio = times["submission"] / times["baseline"]
    measured = (f"one epoch {ratio:.1f}x the time of the grader's loop (yours {times['submission'] * 1e3:.1f} ms, "
                f"the grader's {times['baseline'] * 1e3:.1f} ms, {SPEED['examples'] // SPEED['batch_size']} batches "
                f"of {SPEED['batch_size']}; allowed <= {limit:g}x)")
    if ratio > limit:
        raise Fail(f"{measured}. Do one forward and one backward per batch on the whole batch: no Python loop over "
                   "the examples, no extra forward passes, no .item() or .cpu() inside an inner loop.",
                   measured=ratio)
    return Measured(measured, ratio)


# ------------------------------------------------------------------------------------------------------
# Judging evaluate
# ------------------------------------------------------------------------------------------------------
def _eval_data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs, and labels that the model gets about two thirds right in eval mode (so that accuracy,
    its percentage and its count all differ)."""
    x, y = _data(n, MODES, seed + 200)
    net = build_net(MODES, seed).eval()
    with torch.no_grad():
        predicted = net(x).argmax(1)
    g = torch.Generator().manual_seed(seed + 300)
    keep = torch.rand(n, generator=g) < 0.65
    return x, torch.where(keep, predicted, y)


def _evaluate(sub, device: str, *, n: int = 45, batch_size: int = 10, seed: int = 20, start_mode: str = "eval",
              **extra) -> tuple[dict, torch.Tensor, torch.Tensor]:
    scenario = {"arch": MODES, "seed": seed, "batch_size": batch_size, "start_mode": start_mode, **extra}
    x, y = _eval_data(n, seed)
    return sub.call(probe_evaluate, scenario, x, y, device), x, y


def _expected_eval(state: dict, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> tuple[float, float]:
    net = _net(MODES, state).eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for bx, by in _batches(x, y, batch_size):
            logits = net(bx)
            total += float(F.cross_entropy(logits, by)) * len(by)
            correct += int((logits.argmax(1) == by).sum())
    return total / len(y), correct / len(y)


@check("evaluate", "loss_and_accuracy")
def loss_and_accuracy(sub, device: str, spec) -> str:
    r, x, y = _evaluate(sub, device)
    loss, acc = _expected_eval(r["state_before"], x, y, 10)
    what = "45 examples in batches of 10 (the last has 5)"
    got_loss, got_acc = r["loss"], r["accuracy"]
    for name, got in (("loss", got_loss), ("accuracy", got_acc)):
        if got["number"] is None or got["type"].startswith("tensor"):
            raise Fail(f"{what}: evaluate returned the {name} as {got['type']}; return Python floats (.item()).")
    train_mode_seen = any(f["training"] or any(f["layers"]) for f in r["forwards"])
    hint = " The model ran in train mode (dropout on, BatchNorm on batch statistics): call model.eval()." \
        if train_mode_seen else ""
    a = got_acc["number"]
    if not math.isclose(a, acc, abs_tol=1e-6):
        if math.isclose(a, 100 * acc, abs_tol=1e-4):
            raise Fail(f"{what}: accuracy {a:g} is a percentage; return the fraction correct, {acc:g}.")
        if math.isclose(a, acc * len(y), abs_tol=1e-4):
            raise Fail(f"{what}: accuracy {a:g} is the number of correct predictions; divide by the number of "
                       f"examples ({len(y)}): {acc:g}.")
        raise Fail(f"{what}: accuracy {a:.4g}, expected {acc:.4g} (the fraction of examples whose largest logit, "
                   f"logits.argmax(dim=1), is the target).{hint}")
    b = got_loss["number"]
    if not math.isclose(b, loss, rel_tol=1e-4):
        values = [e["value"] for e in r["losses"]]
        if values and math.isclose(b, sum(values) / len(values), rel_tol=1e-4):
            raise Fail(f"{what}: loss {b:.6g} is the plain mean of the batch means; weight each batch by its size: "
                       f"{loss:.6g}.")
        raise Fail(f"{what}: mean loss {b:.6g}, expected {loss:.6g} per example.{hint}")
    return f"{what}: loss {loss:.4f} per example and accuracy {acc:.4f}, as PyTorch computes them in eval mode"


@check("evaluate", "eval_mode")
def eval_mode(sub, device: str, spec) -> str:
    r, _, _ = _evaluate(sub, device, start_mode="train", seed=21)
    if not r["forwards"]:
        raise Fail("evaluate never called the model")
    for i, f in enumerate(r["forwards"]):
        if f["training"] or any(f["layers"]):
            drift = float((r["state_after"]["body.1.running_mean"] - r["state_before"]["body.1.running_mean"])
                          .abs().max())
            raise Fail(f"forward {i + 1} of evaluate ran in train mode: dropout dropped units at random and "
                       f"BatchNorm normalized with each batch's statistics and updated its running mean (it moved "
                       f"by up to {drift:.3g}). Call model.eval() before the loop.")
    for name in ("body.1.running_mean", "body.1.running_var", "body.1.num_batches_tracked"):
        if not torch.equal(r["state_after"][name], r["state_before"][name]):
            raise Fail(f"evaluate changed BatchNorm's {name.split('.')[-1]}: evaluation must not change the model.")
    return "every forward in eval mode; BatchNorm's running statistics unchanged"


@check("evaluate", "no_graph")
def no_graph(sub, device: str, spec) -> str:
    r, _, _ = _evaluate(sub, device, seed=22)
    recording = [f for f in r["forwards"] if f["grad_enabled"]]
    if recording:
        raise Fail(f"autograd recorded a graph in {len(recording)} of {len(r['forwards'])} forwards of evaluate: "
                   "every activation was kept for a backward that never comes. Wrap the loop in "
                   "`with torch.no_grad():` (or torch.inference_mode()).")
    return "no autograd graph built during evaluate"


@check("evaluate", "restores_mode")
def restores_mode(sub, device: str, spec) -> str:
    for start, seed in (("train", 23), ("eval", 24)):
        r, _, _ = _evaluate(sub, device, start_mode=start, seed=seed)
        wanted = start == "train"
        if r["mode_after"] != wanted or any(flag != wanted for flag in r["layers_after"]):
            after = "train" if r["mode_after"] else "eval"
            raise Fail(f"the model was in {start} mode before evaluate and in {after} mode after it. Put back the "
                       "mode it had: was_training = model.training before, model.train(was_training) after.")
    return "a model in train mode comes back in train mode, one in eval mode in eval mode"


@check("evaluate", "moves_to_device")
def evaluate_moves_to_device(sub, device: str, spec) -> str:
    r, _, _ = _evaluate(sub, device, seed=25)
    return _moved(r, "evaluate")


# ------------------------------------------------------------------------------------------------------
# make_model
# ------------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def digits() -> dict[str, torch.Tensor]:
    """scikit-learn's bundled 8x8 digits, pixels / 16, split 80/20 by a fixed permutation."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.data, dtype=torch.float32) / 16
    y = torch.tensor(data.target, dtype=torch.int64)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(1234))
    cut = int(0.8 * len(x))
    return {"x_train": x[perm[:cut]], "y_train": y[perm[:cut]], "x_test": x[perm[cut:]], "y_test": y[perm[cut:]]}


@check("make_model", "logits_for_digits")
def logits_for_digits(sub, device: str, spec) -> str:
    d = digits()
    r = sub.call(probe_model_outputs, d["x_test"][:16], device)
    out = r["out"]
    if list(out.shape) != [16, 10]:
        raise Fail(f"make_model()(x) for x of shape [16, 64] returned shape {list(out.shape)}; expected [16, 10], "
                   "one logit per digit class.")
    if not r["dtype"].startswith("torch.float"):
        raise Fail(f"the logits are {r['dtype']}; return floating-point logits")
    if r["params"] == 0:
        raise Fail("make_model() has no parameters to train: build it from nn.Linear (or nn.Conv2d) layers.")
    if bool((out >= 0).all()) and torch.allclose(out.sum(1), torch.ones(16, dtype=out.dtype), atol=1e-4):
        raise Fail("the outputs are probabilities (non-negative, each row sums to 1): make_model ends in a softmax. "
                   "Return raw logits; nn.CrossEntropyLoss applies log-softmax itself.")
    if not torch.isfinite(out).all():
        raise Fail("the logits of 16 test images are not all finite")
    return f"[N, 64] -> [N, 10] float logits, {r['params']} parameters"


def _accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    if list(logits.shape) != [len(y), 10]:
        raise Fail(f"the trained model's output on the {len(y)} test images has shape {list(logits.shape)}, "
                   f"expected [{len(y)}, 10]")
    return float((logits.argmax(1) == y).double().mean())


def _digits_setup() -> str:
    return (f"Adam(lr={DIGITS['lr']:g}), batches of {DIGITS['batch_size']}, {DIGITS['epochs']} epochs, "
            "nn.CrossEntropyLoss")


@check("make_model", "digits_reference_loop")
def digits_reference_loop(sub, device: str, spec) -> str:
    d = digits()
    r = sub.call(probe_digits, d["x_train"], d["y_train"], d["x_test"], device, False)
    acc = _accuracy(r["logits"], d["y_test"])
    bar = spec.threshold("min_accuracy", device)
    message = f"trained by the grader's loop ({_digits_setup()}): test accuracy {acc:.1%} (bar {bar:.0%})"
    if acc < bar:
        raise Fail(f"{message}. Give the model a hidden layer with a nonlinearity (e.g. Linear(64, 128), ReLU, "
                   "Linear(128, 10)) and no softmax at the end.", measured=acc)
    return Measured(message, acc)


def _cpu(sub) -> float:
    times = getattr(sub, "cpu_times", None)
    if callable(times):
        user, children = times()
        return user + children
    return time.process_time()


@check("make_model", "digits_your_loop")
def digits_your_loop(sub, device: str, spec) -> str:
    d = digits()
    start = _cpu(sub)
    r = sub.call(probe_digits, d["x_train"], d["y_train"], d["x_test"], device, True)
    cpu = _cpu(sub) - start
    acc = _accuracy(r["logits"], d["y_test"])
    bar = spec.threshold("min_accuracy", device)
    budget = spec.threshold("max_cpu_s", device)
    message = (f"trained by your train_one_epoch ({_digits_setup()}): test accuracy {acc:.1%} (bar {bar:.0%}), "
               f"{cpu:.1f} s of CPU (budget {budget:g} s)")
    if cpu > budget:
        raise Fail(f"{message}: over the CPU budget. Make the model smaller, and do one forward and backward per "
                   "batch.", measured=acc)
    if acc < bar:
        losses = [v for v in r["losses"] if v is not None]
        trend = f" Its reported epoch losses went {losses[0]:.3g} -> {losses[-1]:.3g}." if losses else ""
        raise Fail(f"{message}.{trend} With the grader's loop the same model is judged by digits_reference_loop; "
                   "if that passes, the difference is in train_one_epoch.", measured=acc)
    return Measured(message, acc)
