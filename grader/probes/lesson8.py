"""Lesson 8 probes (child side): run the student's `train_one_epoch` / `evaluate` on instrumented models,
loaders, losses and optimizers; train `make_model()` on the digits. Return plain data.

Nothing here judges. What the instruments record (the judge reads it):
- every forward of the model: the model's and each Dropout/BatchNorm layer's `training` flag, whether
  autograd was recording, and whether the input had been moved to the device;
- every call of the loss: its value, batch size, what it was given (the model's logits, or their softmax,
  ...), whether the targets required grad or were moved to the device, and how much gradient flowed back
  into it (1/k when the student divides by k);
- every optimizer step: the parameters before it and the gradients it used;
- how many earlier steps' autograd graphs were still alive at each later loss call (a running total of
  `loss` tensors keeps them all).

Device moves without a GPU: the loader tags the tensors it yields, and a TorchFunctionMode carries the tag
through every operation except a device move (`.to(device)`, `.cuda()`, `.cpu()`, a `device=` argument).
A tagged tensor reaching the model or the loss was never moved. On a real GPU the device itself tells.
"""

from __future__ import annotations

import gc
import math
import weakref
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

from grader.engine.checks import StudentError
from grader.probes import pick, probe, synchronize
from grader.probes.instruments import BatchNorm, Dropout

DIGITS = {"lr": 3e-3, "batch_size": 32, "epochs": 15, "seed": 0}
SPEED = {"examples": 512, "batch_size": 32, "features": 64, "hidden": 128, "classes": 10, "repeats": 4}
TAG = "_grader_not_moved"


# ------------------------------------------------------------------------------------------------------
# Instruments
# ------------------------------------------------------------------------------------------------------
class Log:
    """What one call of the student's function did, as plain data."""

    def __init__(self) -> None:
        self.forwards: list[dict] = []
        self.losses: list[dict] = []
        self.steps: list[dict] = []
        self.last_output: torch.Tensor | None = None
        self.graphs: list[weakref.ref] = []
        self.alive_max = 0

    def graph_token(self, loss: torch.Tensor) -> None:
        """Tie a weakly referenced token to the loss's graph node: alive exactly as long as the graph."""
        if loss.grad_fn is None:
            return
        token = _Token()
        loss.grad_fn.metadata["grader"] = token
        older = [r for r in self.graphs[:-1] if r() is not None]  # all but the previous step's
        self.alive_max = max(self.alive_max, len(older))
        self.graphs.append(weakref.ref(token))

    def alive(self) -> int:
        gc.collect()
        return sum(1 for r in self.graphs if r() is not None)


class _Token:
    pass


def _not_moved(t: Any) -> bool:
    return isinstance(t, torch.Tensor) and bool(getattr(t, TAG, False))


class Net(nn.Module):
    """Linear -> [BatchNorm] -> Tanh -> [Dropout] -> Linear, recording every forward in `log`."""

    def __init__(self, features: int, hidden: int, classes: int, batchnorm: bool = False, dropout: float = 0.0):
        super().__init__()
        layers: list[nn.Module] = [nn.Linear(features, hidden)]
        if batchnorm:
            layers.append(BatchNorm(hidden))
        layers.append(nn.Tanh())
        if dropout:
            layers.append(Dropout(dropout))
        layers.append(nn.Linear(hidden, classes))
        self.body = nn.Sequential(*layers)
        self.log: Log | None = None
        for layer in self.body:
            if isinstance(layer, (Dropout, BatchNorm)):
                layer.log_training = []

    def instrumented(self) -> list[nn.Module]:
        return [m for m in self.body if isinstance(m, (Dropout, BatchNorm))]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layers = self.instrumented()
        marks = [len(m.log_training) for m in layers]
        out = self.body(x)
        if self.log is not None:
            self.log.forwards.append({
                "training": self.training,
                "layers": [m.log_training[i] if len(m.log_training) > i else None for m, i in zip(layers, marks)],
                "grad_enabled": torch.is_grad_enabled(),
                "not_moved": _not_moved(x),
                "rows": int(x.shape[0]),
            })
            self.log.last_output = out.detach()
        return out


def build_net(arch: dict, seed: int) -> Net:
    """The model of a scenario; the judge builds the same one from the same seed to compare."""
    torch.manual_seed(seed)
    net = Net(arch["features"], arch["hidden"], arch["classes"], arch.get("batchnorm", False),
              arch.get("dropout", 0.0))
    g = torch.Generator().manual_seed(seed + 1)
    for m in net.instrumented():
        if isinstance(m, BatchNorm):  # running statistics far from a batch's own: eval and train modes differ
            m.running_mean.copy_(torch.randn(m.num_features, generator=g))
            m.running_var.copy_(torch.rand(m.num_features, generator=g) * 2 + 0.5)
    return net


class Loss(nn.CrossEntropyLoss):
    """nn.CrossEntropyLoss (mean) that records how it is called."""

    def __init__(self, log: Log):
        super().__init__()
        self.log = log

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss = super().forward(input, target)
        entry = {"value": float(loss.detach()), "rows": int(target.shape[0]) if target.dim() else 1,
                 "given": _given(input, self.log.last_output), "target_requires_grad": bool(target.requires_grad),
                 "not_moved": _not_moved(input) or _not_moved(target), "grad_enabled": torch.is_grad_enabled(),
                 "scale": None}
        self.log.losses.append(entry)
        if loss.requires_grad:
            def seen(grad: torch.Tensor, entry: dict = entry) -> None:
                entry["scale"] = float(grad.detach().sum())
            loss.register_hook(seen)
            self.log.graph_token(loss)
        return loss


def _given(x: torch.Tensor, out: torch.Tensor | None) -> str:
    """What the loss received, compared with the model's last output: logits, softmax, log_softmax, other."""
    if out is None or not isinstance(x, torch.Tensor) or x.shape != out.shape or out.dim() != 2:
        return "other"
    x = x.detach().to(out.device, out.dtype)
    for name, form in (("logits", out), ("softmax", F.softmax(out, 1)), ("log_softmax", F.log_softmax(out, 1))):
        if torch.allclose(x, form, atol=1e-5, rtol=1e-4):
            return name
    return "other"


class _Tags(TorchFunctionMode):
    """Carries the loader's "not moved" tag through operations; a device move returns an untagged tensor."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if not any(_not_moved(t) for t in tree_flatten((args, kwargs))[0]):
            return out
        if _moves(func, args, kwargs):
            if out is args[0]:  # .to(the device it is on) returns the tensor itself: give the move a new one
                out = out.view_as(out)
            return out
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                try:
                    setattr(t, TAG, True)
                except (AttributeError, RuntimeError):
                    pass
        return out


def _moves(func, args, kwargs) -> bool:
    if func in (torch.Tensor.cuda, torch.Tensor.cpu) or kwargs.get("device") is not None:
        return True
    if func is torch.Tensor.to:
        try:
            device = torch._C._nn._parse_to(*args[1:], **kwargs)[0]
        except Exception:  # noqa: BLE001 - not a form of .to we can read: not a move
            return False
        return device is not None
    return False


class Loader(torch.utils.data.DataLoader):
    """A DataLoader whose batches are tagged "not moved" (CPU grading without a GPU)."""

    def __init__(self, *args: Any, tag: bool = False, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.tag = tag

    def __iter__(self):
        for batch in super().__iter__():
            if self.tag:
                for t in batch:
                    setattr(t, TAG, True)
            yield batch


def _loader(x: torch.Tensor, y: torch.Tensor, batch_size: int, *, tag: bool = False, shuffle: bool = False,
            seed: int = 0) -> Loader:
    g = torch.Generator().manual_seed(seed) if shuffle else None
    return Loader(torch.utils.data.TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle, generator=g,
                  tag=tag)


def make_optimizer(params, spec: dict) -> torch.optim.Optimizer:
    if spec["name"] == "adam":
        return torch.optim.Adam(params, lr=spec["lr"])
    return torch.optim.SGD(params, lr=spec["lr"], momentum=spec.get("momentum", 0.0))


def _state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


def _returned(value: Any) -> dict:
    """The student's return value as data: a number, or a description of what it was."""
    if isinstance(value, bool) or value is None:
        return {"number": None, "type": type(value).__name__, "graph": False}
    if isinstance(value, (int, float)) or type(value).__module__ == "numpy" and hasattr(value, "item"):
        number = float(value)
        return {"number": number, "type": type(value).__name__, "graph": False, "finite": math.isfinite(number)}
    if isinstance(value, torch.Tensor):
        number = float(value.detach().reshape(-1)[0]) if value.numel() == 1 else None
        return {"number": number, "type": f"tensor{list(value.shape)}", "graph": value.grad_fn is not None}
    return {"number": None, "type": type(value).__name__, "graph": False}


def _run(fn, tag: bool, device: str, *args: Any, **kwargs: Any) -> Any:
    """`fn(*args, **kwargs)`, under the tag-carrying mode when batches are tagged; a device mix-up (a real
    GPU) is explained."""
    try:
        if tag:
            with _Tags():
                return fn(*args, **kwargs)
        return fn(*args, **kwargs)
    except RuntimeError as exc:
        if "same device" in str(exc) or "Expected all tensors" in str(exc):
            raise StudentError(f"{exc}. The model is on {device}: move each batch's inputs and targets to "
                               "`device` (inputs.to(device), targets.to(device)).") from None
        raise


# ------------------------------------------------------------------------------------------------------
# train_one_epoch
# ------------------------------------------------------------------------------------------------------
@probe("lesson8")
def probe_train(sub, scenario: dict, x: torch.Tensor, y: torch.Tensor, device: str) -> dict:
    """One call of train_one_epoch on scenario's model, data and optimizer; everything it did."""
    train_one_epoch = sub.get("train_one_epoch")
    log = Log()
    net = build_net(scenario["arch"], scenario["seed"]).to(device)
    initial = _state(net)
    optimizer = make_optimizer(net.parameters(), scenario["optimizer"])
    names = [n for n, _ in net.named_parameters()]

    def before_step(opt, args, kwargs) -> None:
        log.steps.append({
            "params": {n: p.detach().to("cpu", copy=True) for n, p in net.named_parameters()},
            "grads": {n: None if p.grad is None else p.grad.detach().to("cpu", copy=True)
                      for n, p in net.named_parameters()},
            "forwards": len(log.forwards)})

    optimizer.register_step_pre_hook(before_step)
    stale = scenario.get("stale_grads")
    if stale:
        g = torch.Generator().manual_seed(stale)
        for p in net.parameters():
            p.grad = torch.randn(p.shape, generator=g).to(device)
    net.train(scenario.get("start_mode", "train") == "train")
    net.log = log
    tag = device == "cpu" and scenario.get("tag", True)
    loader = _loader(x, y, scenario["batch_size"], tag=tag)
    kwargs = {} if scenario.get("k") is None else {"accumulation_steps": scenario["k"]}
    value = _run(train_one_epoch, tag, device, net, loader, optimizer, Loss(log), torch.device(device), **kwargs)
    net.log = None
    returned = _returned(value)
    del value
    return {"initial": initial, "final": _state(net), "names": names, "steps": log.steps,
            "forwards": log.forwards, "losses": log.losses, "returned": returned,
            "alive_max": log.alive_max, "alive_after": log.alive(), "graphs": len(log.graphs)}


# ------------------------------------------------------------------------------------------------------
# evaluate
# ------------------------------------------------------------------------------------------------------
@probe("lesson8")
def probe_evaluate(sub, scenario: dict, x: torch.Tensor, y: torch.Tensor, device: str) -> dict:
    evaluate = sub.get("evaluate")
    log = Log()
    net = build_net(scenario["arch"], scenario["seed"]).to(device)
    net.train(scenario.get("start_mode", "eval") == "train")
    before = _state(net)
    net.log = log
    tag = device == "cpu" and scenario.get("tag", True)
    loader = _loader(x, y, scenario["batch_size"], tag=tag)
    value = _run(evaluate, tag, device, net, loader, Loss(log), torch.device(device))
    net.log = None
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise StudentError(f"evaluate must return a tuple (mean loss, accuracy), got {type(value).__name__}"
                           + (f" of length {len(value)}" if isinstance(value, (tuple, list)) else ""))
    return {"state_before": before, "state_after": _state(net), "forwards": log.forwards, "losses": log.losses,
            "loss": _returned(value[0]), "accuracy": _returned(value[1]),
            "mode_after": net.training, "layers_after": [m.training for m in net.modules()],
            "alive_after": log.alive()}


# ------------------------------------------------------------------------------------------------------
# make_model and the digits
# ------------------------------------------------------------------------------------------------------
def _make_model(sub, seed: int, device: str) -> nn.Module:
    make_model = sub.get("make_model")
    torch.manual_seed(seed)
    model = make_model()
    if not isinstance(model, nn.Module):
        raise StudentError(f"make_model() must return an nn.Module, got {type(model).__name__}")
    return model.to(device)


@probe("lesson8")
def probe_model_outputs(sub, x: torch.Tensor, device: str) -> dict:
    model = _make_model(sub, 0, device)
    n_params = sum(p.numel() for p in model.parameters())
    model.eval()
    with torch.no_grad():
        out = model(x.to(device))
    if not isinstance(out, torch.Tensor):
        raise StudentError(f"make_model()'s forward must return a tensor of logits, got {type(out).__name__}")
    return {"out": out.detach().to("cpu", torch.float64), "dtype": str(out.dtype), "params": n_params,
            "device": out.device.type}


def reference_epoch(model: nn.Module, loader, optimizer, loss_fn, device: str) -> float:
    """The grader's own loop: the bar make_model is held to, and the speed baseline.

    It is the epoch of the lesson's own `fit` demo, statement for statement: a public check (make_model's
    digits_reference_loop) runs it in the student's kernel, so the student bundle ships it, and it must show
    nothing the lesson does not (no accumulation: that is the exercise)."""
    model.train()
    total, count = 0.0, 0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        logits = model(inputs)
        loss = loss_fn(logits, targets)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(targets)
        count += len(targets)
    return total / count


def _test_logits(model: nn.Module, x: torch.Tensor, device: str) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        out = model(x.to(device))
    if not isinstance(out, torch.Tensor):
        raise StudentError(f"make_model()'s forward must return a tensor, got {type(out).__name__}")
    return out.detach().to("cpu", torch.float32)


@probe("lesson8")
def probe_digits(sub, x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, device: str,
                 own_loop: bool, x_val: torch.Tensor | None = None, y_val: torch.Tensor | None = None) -> dict:
    """Train make_model() on the digits (the grader's loop, or the student's train_one_epoch) and return its
    logits on the test images; the test labels never come here."""
    model = _make_model(sub, DIGITS["seed"], device)
    optimizer = torch.optim.Adam(model.parameters(), lr=DIGITS["lr"])
    loader = _loader(x_train, y_train, DIGITS["batch_size"], shuffle=True, seed=DIGITS["seed"])
    losses, reported = [], None
    for _ in range(DIGITS["epochs"]):
        if own_loop:
            value = sub.get("train_one_epoch")(model, loader, optimizer, nn.CrossEntropyLoss(), torch.device(device))
        else:
            value = reference_epoch(model, loader, optimizer, nn.CrossEntropyLoss(), device)
        losses.append(_returned(value)["number"])
    if own_loop and x_val is not None:
        reported = sub.get("evaluate")(model, _loader(x_val, y_val, 256), nn.CrossEntropyLoss(), torch.device(device))
        reported = [_returned(v) for v in reported] if isinstance(reported, (tuple, list)) else None
    return {"logits": _test_logits(model, x_test, device), "losses": losses, "reported": reported,
            "val_logits": _test_logits(model, x_val, device) if x_val is not None else None}


# ------------------------------------------------------------------------------------------------------
# Speed: one epoch of the student's loop vs the grader's, on fresh models and data per seed
# ------------------------------------------------------------------------------------------------------
def speed_case(seed: int) -> tuple[dict, torch.Tensor, torch.Tensor]:
    arch = {"features": SPEED["features"], "hidden": SPEED["hidden"], "classes": SPEED["classes"]}
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(SPEED["examples"], SPEED["features"], generator=g)
    y = torch.randint(0, SPEED["classes"], (SPEED["examples"],), generator=g)
    return arch, x, y


def _timed_epochs(epoch_fn, seeds: list[int], device: str):
    prepared = []
    for seed in seeds:
        arch, x, y = speed_case(seed)
        net = build_net(arch, seed).to(device)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
        prepared.append((net, _loader(x, y, SPEED["batch_size"]), optimizer))

    def go(which: list[int], flat_index: torch.Tensor) -> list[dict]:
        for net, loader, optimizer in prepared:
            epoch_fn(net, loader, optimizer, nn.CrossEntropyLoss(), torch.device(device))
        synchronize(device)
        return [pick(torch.cat([p.detach().reshape(-1) for p in prepared[i][0].parameters()]), flat_index)
                for i in which]

    return None, go


@probe("lesson8")
def probe_epoch_speed(sub, seeds: list[int], device: str):
    """Timed: one epoch of the student's train_one_epoch per seed."""
    return _timed_epochs(sub.get("train_one_epoch"), seeds, device)


@probe("lesson8")
def probe_reference_epoch_speed(sub, seeds: list[int], device: str):
    """Timed baseline (clean process): one epoch of the grader's loop per seed."""
    return _timed_epochs(reference_epoch, seeds, device)
