"""Lesson 7 probes (child side): call the student's softmax / log_softmax / cross-entropies, return data."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from grader.engine.checks import StudentError
from grader.engine.submission import describe_exception
from grader.probes import pick, plain_tensor, probe, synchronize
from grader.probes.jacobians import jacobians
from grader.probes.ops import record_ops

SPEED = {"shape": (512, 100), "repeats": 32}

REDUCE_MAX = ("torch.reduce_max does not exist in PyTorch (it is TensorFlow's tf.reduce_max, left over in "
              "the notes). Use logits.amax(dim=dim, keepdim=True) or logits.max(dim=dim, keepdim=True).values.")

class _Calls(TorchFunctionMode):
    """Records every torch function, Tensor method and torch.ops call, by display name."""

    def __init__(self) -> None:
        super().__init__()
        self.names: dict[str, None] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.names[_display(func)] = None
        return func(*args, **(kwargs or {}))


def _display(func) -> str:
    name = getattr(func, "__name__", None) or str(func)
    module = getattr(func, "__module__", None) or ""
    qualname = getattr(func, "__qualname__", "") or ""
    if module == "torch.nn.functional":
        return f"F.{name}"
    if qualname.startswith(("TensorBase.", "Tensor.")):
        return f"Tensor.{name}"
    if module == "torch._C._special":
        return f"torch.special.{name.removeprefix('special_')}"
    if module.startswith("torch._ops"):
        return f"torch.ops.aten.{name}"
    if module == "torch._C._nn":
        return f"torch._C._nn.{name}"
    return f"torch.{name}"


def base_name(display: str) -> str:
    return display.rsplit(".", 1)[-1].removeprefix("special_")


def _fresh(t: torch.Tensor, device: str) -> torch.Tensor:
    """`t` on `device`, detached (runners already hand probes copies of the judge's tensors)."""
    return t.detach().to(device)


def _student_args(name: str, case: dict, device: str, logits: torch.Tensor | None = None) -> tuple:
    x = _fresh(case["logits"], device) if logits is None else logits
    kwargs = {} if case.get("dim") is None else {"dim": case["dim"]}
    if name == "softmax_cross_entropy":
        return (_fresh(case["labels"], device), x), kwargs
    if name == "cross_entropy":
        return (x, _fresh(case["targets"], device)), {}
    return (x,), kwargs


@contextlib.contextmanager
def _explained() -> Iterator[None]:
    """Student code runs inside: the notes' torch.reduce_max gets its explanation."""
    try:
        yield
    except AttributeError as exc:
        if "reduce_max" in str(exc):
            raise StudentError(f"your code raised {describe_exception(exc)}. {REDUCE_MAX}") from None
        raise


def _invoke(sub, name: str, case: dict, device: str, logits: torch.Tensor | None = None):
    fn = sub.get(name)
    args, kwargs = _student_args(name, case, device, logits)
    calls = _Calls()
    with _explained(), calls:
        y = fn(*args, **kwargs)
    return plain_tensor(y, name), list(calls.names)


@probe("lesson7")
def probe_values(sub, name: str, case: dict, device: str) -> dict:
    y, calls = _invoke(sub, name, case, device)
    return {"y": y.detach().cpu(), "device": y.device.type, "calls": calls}


@probe("lesson7")
def probe_calls(sub, name: str, case: dict, device: str) -> dict:
    y, calls = _invoke(sub, name, case, device)
    return {"y": y.detach().cpu(), "device": y.device.type, "calls": calls}


@probe("lesson7")
def probe_op_shapes(sub, name: str, case: dict, device: str) -> dict:
    """The student's result and every dispatched op's output shapes while computing it."""
    fn = sub.get(name)
    args, kwargs = _student_args(name, case, device)
    with _explained():
        fn(*args, **kwargs)  # warm-up outside the recording
        y: list = []
        ops = record_ops(lambda: y.append(plain_tensor(fn(*args, **kwargs), name)))
    return {"y": y[0].detach().cpu(), "device": y[0].device.type, "ops": ops, "calls": []}


@probe("lesson7")
def probe_gradient(sub, name: str, case: dict, cotangent: torch.Tensor, device: str) -> dict:
    logits = _fresh(case["logits"], device).requires_grad_(True)
    y, calls = _invoke(sub, name, case, device, logits=logits)
    out = {"y": y.detach().cpu(), "calls": calls, "requires_grad": y.requires_grad, "grad": None}
    if y.requires_grad:
        with _explained():
            (y * cotangent.to(device=device, dtype=y.dtype)).sum().backward()
        out["grad"] = None if logits.grad is None else logits.grad.detach().cpu()
    return out


@probe("lesson7")
def probe_jacobians(sub, name: str, case: dict, device: str) -> dict:
    fn = sub.get(name)
    args, kwargs = _student_args(name, case, device)
    position = 1 if name == "softmax_cross_entropy" else 0

    def of_logits(logits: torch.Tensor) -> torch.Tensor:
        full = list(args)
        full[position] = logits
        return plain_tensor(fn(*full, **kwargs), name)

    with _explained():
        return jacobians(of_logits, [args[position]])


def speed_case(name: str, seed: int) -> dict:
    """Logits [512, 100] of scale 3 and soft labels or class targets, from `seed` (the judge rebuilds them)."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(*SPEED["shape"], generator=g) * 3
    if name == "softmax_cross_entropy":
        weights = torch.rand(SPEED["shape"], generator=g, dtype=torch.float64) ** 3 + 1e-3
        return {"logits": logits, "dim": None, "labels": (weights / weights.sum(-1, keepdim=True)).float()}
    return {"logits": logits, "dim": None, "targets": torch.randint(0, SPEED["shape"][1], SPEED["shape"][:1],
                                                                     generator=g)}


def _timed_loss(loss_fn, name: str, seeds: list[int], device: str):
    prepared = []
    for seed in seeds:
        case = speed_case(name, seed)
        logits = _fresh(case["logits"], device).requires_grad_(True)
        args, kwargs = _student_args(name, case, device, logits=logits)
        prepared.append((logits, args, kwargs))

    def go(which: list[int], flat_index: torch.Tensor) -> list[dict]:
        for _, args, kwargs in prepared:
            loss = plain_tensor(loss_fn(*args, **kwargs), name)
            loss.sum().backward()
        synchronize(device)
        return [pick(prepared[i][0].grad, flat_index) for i in which]

    return None, go


@probe("lesson7")
def probe_loss_speed(sub, name: str, seeds: list[int], device: str):
    """Timed: forward + backward of the student's loss on fresh logits, one per seed."""
    fn = sub.get(name)
    with _explained():
        return _timed_loss(fn, name, seeds, device)


@probe("lesson7")
def probe_builtin_loss_speed(sub, name: str, seeds: list[int], device: str):
    """Timed baseline (clean process): F.cross_entropy forward + backward on the same kind of inputs."""
    if name == "softmax_cross_entropy":
        def builtin(labels, logits):
            return F.cross_entropy(logits, labels, reduction="none")
    else:
        def builtin(logits, targets):
            return F.cross_entropy(logits, targets)
    return _timed_loss(builtin, name, seeds, device)
