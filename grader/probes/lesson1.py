"""Lesson 1 probes (child side): call the student's `vjp` and `fit_polynomial`, return plain data.

The functions `vjp` is asked to differentiate live here (FUNCTIONS), so that the judge can name them in a
request and rebuild the very same ones for its oracle (torch.func.vjp in float64).
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator

import torch
from torch.optim.optimizer import register_optimizer_step_pre_hook

from grader.probes import plain_tensor, probe
from grader.probes.ops import record_ops

Fn = Callable[[torch.Tensor], torch.Tensor]


def _constants(size: int, seed: int, dtype: torch.dtype, device: str | torch.device, *shape: int) -> torch.Tensor:
    """Fixed weights drawn in float64 on the CPU from `seed`, then cast: the judge rebuilds the same ones."""
    g = torch.Generator().manual_seed(seed * 1000 + size)
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)


def _doubling(x: torch.Tensor) -> torch.Tensor:
    """The autograd tutorial's loop: double until the norm reaches 1000 (data-dependent control flow;
    at most 60 doublings, so that an x of all zeros ends too)."""
    y = x * 2
    for _ in range(60):
        if y.detach().norm() >= 1000:
            break
        y = y * 2
    return y


def make_function(name: str, dtype: torch.dtype, device: str | torch.device, n: int) -> Fn:
    """The function `name` for inputs whose last dim has size `n` (constants in `dtype` on `device`)."""
    if name == "neg_square":          # the notes' g(u(x)) = -(x * x)
        return lambda x: -(x * x)
    if name == "shifted_square":      # the autograd lesson's (inp + 1).pow(2)
        return lambda x: (x + 1).pow(2)
    if name == "sum_of_squares":      # a scalar output
        return lambda x: (x ** 2).sum()
    if name == "mean_tanh":           # a scalar output through several ops
        return lambda x: torch.tanh(x * 1.5 - 0.25).mean() * 3
    if name == "doubling":
        return _doubling
    if name == "outer":               # [..., n] -> [..., n, n]
        return lambda x: x.unsqueeze(-1) * x.unsqueeze(-2)
    if name == "tanh_layer":          # [..., n] -> [..., 3]: a matmul, a bias and a nonlinearity
        weight = _constants(n, 1, dtype, device, n, 3)
        bias = _constants(n, 2, dtype, device, 3)
        return lambda x: torch.tanh(x @ weight + bias)
    if name == "cumprod":             # [..., n] -> [..., n]
        return lambda x: torch.cumprod(x, dim=-1)
    if name == "normalize":           # [..., n] -> [..., n]: each row divided by its norm
        return lambda x: x / x.norm(dim=-1, keepdim=True)
    if name == "softmax_mix":         # [..., n] -> [..., n]: softmax(x) * x + sin(x)
        return lambda x: torch.softmax(x, dim=-1) * x + torch.sin(x)
    raise KeyError(f"unknown function {name!r}")


def output_shape(name: str, shape: list[int]) -> list[int]:
    if name in ("sum_of_squares", "mean_tanh"):
        return []
    if name == "outer":
        return [*shape, shape[-1]]
    if name == "tanh_layer":
        return [*shape[:-1], 3]
    return list(shape)


_COPY_WARNING = "To copy construct from a tensor"


@contextlib.contextmanager
def _recorded_warnings(out: list[str]) -> Iterator[None]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    out.extend(str(w.message)[:300] for w in caught)


@probe("lesson1")
def probe_vjp(sub, name: str, x: torch.Tensor, v: torch.Tensor, device: str, setup: dict) -> dict:
    """Call vjp(fn, x, v) `setup["calls"]` times on one x prepared as `setup` says; report each result as
    returned (cloned at once, so later calls cannot change it) and what became of x.

    setup: requires_grad (x a leaf that requires grad), grad (a .grad it already holds), nonleaf (x the
    output of an op on a leaf that requires grad), no_grad (call inside torch.no_grad()), calls (1 or 2).
    """
    vjp = sub.get("vjp")
    fn = make_function(name, x.dtype, device, x.shape[-1] if x.dim() else 1)
    x = x.to(device)
    if setup.get("nonleaf"):
        x = x.clone().requires_grad_(True) * 1.0
    elif setup.get("requires_grad"):
        x.requires_grad_(True)
    if setup.get("grad") is not None:
        x.grad = setup["grad"].to(device)
    v = v.to(device)
    before = x.detach().clone()
    results, caught = [], []
    with _recorded_warnings(caught):
        for _ in range(setup.get("calls", 1)):
            context = torch.no_grad() if setup.get("no_grad") else contextlib.nullcontext()
            with context:
                r = plain_tensor(vjp(fn, x, v), "vjp")
            results.append({"y": r.detach().clone().cpu(), "device": r.device.type,
                            "requires_grad": r.requires_grad, "grad_fn": type(r.grad_fn).__name__
                            if r.grad_fn is not None else None})
    leaf = x.is_leaf
    return {"results": results, "x_requires_grad": x.requires_grad, "x_is_leaf": leaf,
            "x_grad": x.grad.detach().clone().cpu() if leaf and x.grad is not None else None,
            "x_changed": not torch.equal(before, x.detach()), "warnings": caught}


# ------------------------------------------------------------------------------------------------------
# fit_polynomial
# ------------------------------------------------------------------------------------------------------
def seed_data(seed: int, n: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """The notes' data: x uniform on [-10, 10), y = 5x^2 + 3, float32 (from the grader's own seed)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, generator=g) * 20 - 10
    return x, 5 * x * x + 3


class _Training:
    """Watches every optimizer step while the student's fit runs (torch's global step pre-hook).

    Per step it sees which optimizer stepped and which parameter tensors it holds, and compares each
    parameter's .grad with what backward delivered to it since the previous step (a tensor hook on the
    parameter sees the incoming gradient before it is added to .grad): a .grad equal to the previous .grad
    plus the new gradient means the gradients were never zeroed.
    """

    def __init__(self) -> None:
        self.steps: dict[str, int] = {}
        self.optimizers: list = []      # strong references: ids of collected objects would be reused
        self.parameters: list = []
        self.without_grad = 0           # steps none of whose parameters had a .grad
        self.accumulated = 0            # steps where a .grad was the previous .grad + the new gradient
        self.first_accumulated: int | None = None
        self._incoming: dict[int, torch.Tensor | None] = {}
        self._previous: dict[int, torch.Tensor | None] = {}
        self._handles: list = []

    def __call__(self, optimizer, args, kwargs) -> None:
        name = type(optimizer).__name__
        self.steps[name] = self.steps.get(name, 0) + 1
        if not any(o is optimizer for o in self.optimizers):
            self.optimizers.append(optimizer)
        params = [p for group in optimizer.param_groups for p in group["params"]]
        if params and all(p.grad is None for p in params):
            self.without_grad += 1
        accumulated = False
        for p in params:
            key = id(p)
            if not any(q is p for q in self.parameters):
                self.parameters.append(p)
                if p.requires_grad:
                    self._handles.append(p.register_hook(self._hook(key)))
                self._incoming[key] = self._previous[key] = None
            incoming, previous = self._incoming.get(key), self._previous.get(key)
            grad = None if p.grad is None else p.grad.detach()
            if grad is not None and incoming is not None and previous is not None and \
                    incoming.shape == grad.shape == previous.shape:
                summed = torch.allclose(grad, previous + incoming, rtol=1e-5, atol=1e-12)
                fresh = torch.allclose(grad, incoming, rtol=1e-5, atol=1e-12)
                accumulated = accumulated or (summed and not fresh)
            self._previous[key] = None if grad is None else grad.clone()
            self._incoming[key] = None
        if accumulated:
            self.accumulated += 1
            if self.first_accumulated is None:
                self.first_accumulated = sum(self.steps.values())

    def _hook(self, key: int):
        def record(grad: torch.Tensor) -> None:
            seen = self._incoming.get(key)
            self._incoming[key] = grad.detach().clone() if seen is None else seen + grad.detach()
        return record

    def close(self) -> None:
        for handle in self._handles:
            handle.remove()

    def report(self) -> dict:
        return {"optimizer_steps": dict(self.steps), "optimizers": len(self.optimizers),
                "parameters": len(self.parameters), "steps_without_grad": self.without_grad,
                "accumulated_steps": self.accumulated, "first_accumulated": self.first_accumulated}


def _fit(sub, x: torch.Tensor, y: torch.Tensor, degree: int, steps: int | None, device: str,
         record: bool = False) -> dict:
    fit_polynomial = sub.get("fit_polynomial")
    x, y = x.to(device), y.to(device)
    kwargs = {} if steps is None else {"steps": steps}
    watch = _Training()
    handle = register_optimizer_step_pre_hook(watch)
    caught: list[str] = []
    ops: list = []
    try:
        torch.manual_seed(0)  # a random start is the same for every step count
        with _recorded_warnings(caught):
            if record:
                out: list = []
                ops = record_ops(lambda: out.append(fit_polynomial(x, y, degree, **kwargs)))
                c = out[0]
            else:
                c = fit_polynomial(x, y, degree, **kwargs)
    finally:
        handle.remove()
        watch.close()
    c = plain_tensor(c, "fit_polynomial")
    return {"c": c.detach().clone().cpu(), "device": c.device.type, "requires_grad": c.requires_grad,
            "warnings": caught, "ops": sorted({name for name, _ in ops}), **watch.report()}


@probe("lesson1")
def probe_fit(sub, x: torch.Tensor, y: torch.Tensor, degree: int, steps: list, device: str) -> list[dict]:
    """fit_polynomial(x, y, degree, steps=k) for each k in `steps` (None: the default), from one seed."""
    return [_fit(sub, x, y, degree, k, device) for k in steps]


@probe("lesson1")
def probe_fit_ops(sub, x: torch.Tensor, y: torch.Tensor, degree: int, steps: int | None, device: str) -> dict:
    """One fit with the aten ops it dispatched (names only) and the optimizer steps it took."""
    return _fit(sub, x, y, degree, steps, device, record=True)
