"""Lesson 2 probes (child side): build the student's `AffineNet` and `make_mlp(sizes)`, run `predict` on
instrumented models, and return plain data. Nothing here judges.

What comes back:
- for modules the student builds: named parameters (names, shapes, values), state_dict keys, outputs on the
  judge's inputs, and what nn.Module cannot see: tensors kept as plain attributes, modules and tensors kept in
  Python lists, tuples or dicts (`hidden`), found by walking each module's `__dict__`;
- for `predict`: at every forward of the grader's model, the `training` flag of the model and of each of its
  Dropout / BatchNorm layers and whether autograd was recording; the model's state_dict before and after,
  its modes after, the grad mode after, and whether the output carries a graph.

AffineNet's two parameters are identified without names: the probe writes the judge's values into
`parameters()` in their order, and the judge works out which of them acts as the slope.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from grader.engine.checks import StudentError
from grader.probes import plain_tensor, probe
from grader.probes.instruments import BatchNorm, Dropout

_MODULE_INTERNALS = frozenset(vars(nn.Module()))
SUPER_INIT = ("{what} raised `{error}`: nn.Module's own __init__ never ran. Call super().__init__() first "
              "thing in __init__; it creates the tables where parameters and submodules are registered.")


# ------------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------------
def _no_module_init(exc: BaseException) -> bool:
    text = str(exc)
    return isinstance(exc, AttributeError) and ("before Module.__init__() call" in text or (
        "object has no attribute '_" in text and any(f"'{name}'" in text for name in _MODULE_INTERNALS)))


def _guard(what: str, fn, *args: Any) -> Any:
    """`fn(*args)`, with a missing super().__init__() named as such (the AttributeError alone is cryptic)."""
    try:
        return fn(*args)
    except AttributeError as exc:
        if _no_module_init(exc):
            raise StudentError(SUPER_INIT.format(what=what, error=f"AttributeError: {exc}")) from None
        raise


def hidden(module: nn.Module) -> list[dict]:
    """Tensors and modules that nn.Module does not track: plain tensor attributes, and tensors or modules
    inside Python lists, tuples, sets and dicts (one level down, and one more for nested containers)."""
    found = []
    for prefix, m in module.named_modules():
        for key, value in vars(m).items():
            if key in _MODULE_INTERNALS:
                continue
            name = f"{prefix}.{key}" if prefix else key
            if isinstance(value, torch.Tensor):
                found.append({"name": name, "container": None, "tensors": 1, "modules": 0,
                              "dtype": str(value.dtype), "device": value.device.type,
                              "floating": value.is_floating_point()})
            elif isinstance(value, (list, tuple, set, dict)):
                items = list(value.values() if isinstance(value, dict) else value)
                for item in list(items):
                    if isinstance(item, (list, tuple)):
                        items.extend(item)
                tensors = [t for t in items if isinstance(t, torch.Tensor)]
                modules = [x for x in items if isinstance(x, nn.Module)]
                if tensors or modules:
                    found.append({"name": name, "container": type(value).__name__, "tensors": len(tensors),
                                  "modules": len(modules),
                                  "dtype": str(tensors[0].dtype) if tensors else None,
                                  "device": tensors[0].device.type if tensors else None,
                                  "floating": bool(tensors) and tensors[0].is_floating_point()})
    return found


def _parameters(module: nn.Module) -> list[dict]:
    return [{"name": n, "shape": list(p.shape), "numel": p.numel(), "requires_grad": bool(p.requires_grad),
             "dtype": str(p.dtype), "device": p.device.type, "value": p.detach().to("cpu", torch.float64).clone()}
            for n, p in module.named_parameters()]


def _state_keys(module: nn.Module) -> list[str]:
    return list(module.state_dict().keys())


def _set_values(module: nn.Module, values: list[float]) -> bool:
    """Write `values` into module.parameters(), in their order; False when the count differs."""
    params = list(module.parameters())
    if len(params) != len(values) or any(p.numel() != 1 for p in params):
        return False
    with torch.no_grad():
        for p, v in zip(params, values):
            p.fill_(v)
    return True


def _output(y: Any, what: str) -> dict:
    y = plain_tensor(y, what)
    return {"y": y.detach().to("cpu").clone(), "shape": list(y.shape), "dtype": str(y.dtype),
            "device": y.device.type, "requires_grad": bool(y.requires_grad)}


# ------------------------------------------------------------------------------------------------------
# AffineNet
# ------------------------------------------------------------------------------------------------------
def _affine(sub, seed: int = 0) -> nn.Module:
    AffineNet = sub.get("AffineNet")
    torch.manual_seed(seed)
    model = _guard("AffineNet()", AffineNet)
    if not isinstance(model, nn.Module):
        raise StudentError(f"AffineNet() must build a torch.nn.Module, got {type(model).__name__}: subclass "
                           "nn.Module")
    _initialized(model, "AffineNet()")
    return model


def _initialized(model: nn.Module, what: str) -> None:
    """A module whose nn.Module.__init__ never ran (it holds only plain attributes) is named as such."""
    if "_parameters" not in vars(model) or "_modules" not in vars(model):
        error = f"AttributeError: '{type(model).__name__}' object has no attribute '_parameters'"
        raise StudentError(SUPER_INIT.format(what=what, error=error))


def _describe(model: nn.Module) -> dict:
    return {"params": _parameters(model), "state_keys": _state_keys(model), "hidden": hidden(model),
            "buffers": [n for n, _ in model.named_buffers()]}


@probe("lesson2")
def probe_affine_parameters(sub, seed: int) -> dict:
    """What AffineNet() registers, without calling forward."""
    return _describe(_affine(sub, seed))


@probe("lesson2")
def probe_affine_forward(sub, values: list[float], x: torch.Tensor, device: str) -> dict:
    """forward(x) with `values` written into parameters() (x's dtype; model and x on `device`)."""
    model = _affine(sub)
    info = _describe(model)
    model = _guard("AffineNet().to(...)", model.to, device, x.dtype)
    written = _set_values(model, values)
    if not written:
        return {**info, "written": False}
    y = _guard("AffineNet.forward", model, x.to(device))
    return {**info, "written": True, **_output(y, "AffineNet.forward")}


@probe("lesson2")
def probe_affine_to(sub, values: list[float], x: torch.Tensor, device: str) -> dict:
    """model.to(device) then model.to(torch.float64): where everything ended up, then forward in float64."""
    model = _affine(sub)
    moved = _guard("AffineNet().to(...)", model.to, device)
    moved = _guard("AffineNet().to(...)", moved.to, torch.float64) if isinstance(moved, nn.Module) else moved
    if moved is not model:
        raise StudentError(f"model.to(...) returned {type(moved).__name__}, not the model itself: do not "
                           "override nn.Module.to")
    info = _describe(model)
    if not _set_values(model, values):
        return {**info, "written": False}
    try:
        y = _guard("AffineNet.forward", model, x.to(device, torch.float64))
    except RuntimeError as exc:
        return {**info, "written": True, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0]}"}
    return {**info, "written": True, "error": None, **_output(y, "AffineNet.forward")}


@probe("lesson2")
def probe_affine_fit(sub, x: torch.Tensor, y: torch.Tensor, steps: int, lr: float, device: str) -> dict:
    """The notes' loop (zero_grad, forward, MSELoss, backward, SGD step) on x, y; what it did."""
    model = _affine(sub)
    model = _guard("AffineNet().to(...)", model.to, device)
    x, y = x.to(device), y.to(device)
    info = _describe(model)
    params = list(model.parameters())
    if not params:
        return {**info, "ran": False}
    initial = [p.detach().to("cpu", torch.float64).clone() for p in params]
    out = _output(_guard("AffineNet.forward", model, x), "AffineNet.forward")
    if out["shape"] != list(y.shape):
        return {**info, "ran": False, **out}
    if not out["requires_grad"]:
        return {**info, "ran": False, **out}
    optimizer = torch.optim.SGD(params, lr=lr)
    loss_fn = nn.MSELoss()
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    grads_none = [p.grad is None for p in params]
    return {**info, "ran": True, "initial": initial, "losses": [losses[0], losses[-1]], "grads_none": grads_none,
            "final": [p.detach().to("cpu", torch.float64).clone() for p in params], **out}


@probe("lesson2")
def probe_affine_state_dict(sub, x: torch.Tensor) -> dict:
    """state_dict of one AffineNet loaded into a second one built from another seed: both outputs."""
    first, second = _affine(sub, seed=1), _affine(sub, seed=2)
    with torch.no_grad():  # make sure the two start apart, whatever the student's initial values
        for i, p in enumerate(first.parameters()):
            p.add_(1.5 + i)
    state = {k: v.clone() for k, v in first.state_dict().items()}
    y_first = _output(_guard("AffineNet.forward", first, x), "AffineNet.forward")["y"]
    y_before = _output(_guard("AffineNet.forward", second, x), "AffineNet.forward")["y"]
    error = None
    try:
        second.load_state_dict(state)
    except RuntimeError as exc:
        error = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    y_after = _output(_guard("AffineNet.forward", second, x), "AffineNet.forward")["y"]
    return {**_describe(first), "y_first": y_first, "y_before": y_before, "y_after": y_after, "error": error}


# ------------------------------------------------------------------------------------------------------
# make_mlp
# ------------------------------------------------------------------------------------------------------
def _leaves(model: nn.Module) -> list[dict]:
    """Modules without children, in registration order (the order nn.Sequential runs them)."""
    out = []
    for name, m in model.named_modules():
        if next(m.children(), None) is not None:
            continue
        entry = {"name": name or "(the model itself)", "type": type(m).__name__}
        if isinstance(m, nn.Linear):
            entry.update(in_features=m.in_features, out_features=m.out_features, bias=m.bias is not None)
        out.append(entry)
    return out


@probe("lesson2")
def probe_mlp(sub, sizes: list[int], x: torch.Tensor, device: str, dtype: str = "float32", seed: int = 0) -> dict:
    """make_mlp(sizes): its type, leaves, Linear weights and parameters; its output on x (after
    .to(device, dtype)); whether it changed the caller's list."""
    make_mlp = sub.get("make_mlp")
    given = list(sizes)
    torch.manual_seed(seed)
    try:
        model = _guard("make_mlp(sizes)", make_mlp, given)
    except TypeError as exc:
        if "is not a Module subclass" in str(exc):
            raise StudentError(f"make_mlp raised `TypeError: {exc}`: nn.Sequential takes the layers as separate "
                               "arguments, not one list. Unpack it: nn.Sequential(*layers).") from None
        raise
    if not isinstance(model, nn.Module):
        raise StudentError(f"make_mlp must return an nn.Sequential, got {type(model).__name__}")
    _initialized(model, "make_mlp(sizes)")
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    info = {"type": type(model).__name__, "sequential": isinstance(model, nn.Sequential),
            "sizes_after": given, "leaves": _leaves(model), "params": _parameters(model),
            "state_keys": _state_keys(model), "hidden": hidden(model),
            "linears": [{"weight": m.weight.detach().to("cpu", torch.float64).clone(),
                         "bias": None if m.bias is None else m.bias.detach().to("cpu", torch.float64).clone()}
                        for m in linears]}
    target = getattr(torch, dtype)
    moved = model.to(device, target)
    try:
        y = model(x.to(device, target))
    except RuntimeError as exc:
        return {**info, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0]}", "moved": moved is model}
    return {**info, "error": None, "moved": moved is model, **_output(y, "make_mlp(sizes)(x)"),
            "hidden_after": hidden(model)}


# ------------------------------------------------------------------------------------------------------
# predict: instrumented models
# ------------------------------------------------------------------------------------------------------
class ModeNet(nn.Module):
    """Linear -> BatchNorm -> ReLU -> Dropout -> Linear, or, with functional=True, Linear -> tanh ->
    F.dropout(h, p, training=self.training) -> Linear: every forward is recorded in `log`.

    `pass_training=False` makes the functional model call F.dropout(h, p) without `training=`, the pitfall
    the lesson shows: it then drops units even in eval mode (used by the tests, never by a check)."""

    def __init__(self, features: int, hidden: int, out: int, p: float, functional: bool = False,
                 pass_training: bool = True):
        super().__init__()
        self.functional, self.p, self.pass_training = functional, p, pass_training
        if functional:
            self.body = nn.Sequential(nn.Linear(features, hidden), nn.Tanh())
        else:
            self.body = nn.Sequential(nn.Linear(features, hidden), BatchNorm(hidden), nn.ReLU(), Dropout(p))
        self.head = nn.Linear(hidden, out)
        for m in self.instrumented():
            m.log_training = []
        self.log: list[dict] | None = None

    def instrumented(self) -> list[nn.Module]:
        return [m for m in self.modules() if isinstance(m, (Dropout, BatchNorm))]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layers = self.instrumented()
        marks = [len(m.log_training) for m in layers]
        h = self.body(x)
        if self.functional:
            h = F.dropout(h, self.p, training=self.training) if self.pass_training else F.dropout(h, self.p)
        out = self.head(h)
        if self.log is not None:
            self.log.append({"training": self.training,
                             "layers": [m.log_training[i] if len(m.log_training) > i else None
                                        for m, i in zip(layers, marks)],
                             "grad_enabled": torch.is_grad_enabled(), "rows": int(x.shape[0])})
        return out


def build_model(arch: dict, seed: int) -> ModeNet:
    """The model of a scenario; the judge builds the same one from the same seed to compute the answer."""
    torch.manual_seed(seed)
    net = ModeNet(arch["features"], arch["hidden"], arch["out"], arch["p"], arch.get("functional", False),
                  arch.get("pass_training", True))
    g = torch.Generator().manual_seed(seed + 1)
    for m in net.instrumented():
        if isinstance(m, BatchNorm):  # running statistics far from any batch's own: the two modes differ
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 2)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) * 3 + 0.5)
            m.num_batches_tracked.fill_(100)
    return net


def _state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


@probe("lesson2")
def probe_predict(sub, scenario: dict, x: torch.Tensor, device: str) -> dict:
    """predict(model, x), `scenario["calls"]` times, on the scenario's instrumented model handed over in
    `start_mode`, with autograd `grad` ("enabled" / "disabled") around the call."""
    predict = sub.get("predict")
    net = build_model(scenario["arch"], scenario["seed"]).to(device)
    net.train(scenario["start_mode"] == "train")
    before = _state(net)
    net.log = []
    x = x.to(device)
    outputs, grad_after = [], []
    for _ in range(scenario.get("calls", 1)):
        with torch.set_grad_enabled(scenario.get("grad", "enabled") == "enabled"):
            y = predict(net, x)
            grad_after.append(torch.is_grad_enabled())
        y = plain_tensor(y, "predict")
        outputs.append({"y": y.detach().to("cpu").clone(), "shape": list(y.shape), "device": y.device.type,
                        "requires_grad": bool(y.requires_grad), "grad_fn": y.grad_fn is not None})
    log, net.log = net.log, None
    return {"outputs": outputs, "forwards": log, "state_before": before, "state_after": _state(net),
            "mode_after": net.training, "modes_after": [m.training for m in net.modules()],
            "grad_after": grad_after}
