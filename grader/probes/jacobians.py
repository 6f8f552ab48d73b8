"""Analytic and numeric Jacobians of the student's function, in float64 (child side; judged in
grader.judging.gradients)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def jacobians(fn: Callable[..., torch.Tensor], inputs: Sequence[torch.Tensor], eps: float = 1e-6
              ) -> dict[str, list[torch.Tensor]]:
    """Analytic and numeric Jacobians of `fn(*inputs)` w.r.t. each input (float64 leaves)."""
    inputs = [x.detach().clone().requires_grad_(True) for x in inputs]
    out = fn(*inputs)
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"expected a tensor output, got {type(out).__name__}")
    flat = out.reshape(-1)
    analytic = [torch.zeros(flat.numel(), x.numel(), dtype=torch.float64) for x in inputs]
    for i in range(flat.numel()):
        if not flat.requires_grad:
            break
        grads = torch.autograd.grad(flat[i], inputs, retain_graph=True, allow_unused=True)
        for j, g in enumerate(grads):
            if g is not None:
                analytic[j][i] = g.reshape(-1).to(torch.float64).cpu()
    numeric = []
    with torch.no_grad():
        for x in inputs:
            columns = torch.zeros(flat.numel(), x.numel(), dtype=torch.float64)
            view = x.view(-1)
            for k in range(x.numel()):
                original = view[k].item()
                view[k] = original + eps
                plus = fn(*inputs).reshape(-1).to(torch.float64).cpu()
                view[k] = original - eps
                minus = fn(*inputs).reshape(-1).to(torch.float64).cpu()
                view[k] = original
                columns[:, k] = (plus - minus) / (2 * eps)
            numeric.append(columns)
    return {"analytic": analytic, "numeric": numeric, "requires_grad": [bool(out.requires_grad)],
            "dtype": [str(out.dtype).replace("torch.", "")]}
