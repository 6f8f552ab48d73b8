"""Gradient checks by central differences in float64, split so the judge compares in its own process.

The child computes both Jacobians of the student's function (autograd's and finite differences'), the
parent compares them, as torch.autograd.gradcheck does, with its default tolerances.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from grader.checks import Fail


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
    return {"analytic": analytic, "numeric": numeric, "requires_grad": [bool(out.requires_grad)]}


def judge_jacobians(result: dict[str, list[torch.Tensor]], names: Sequence[str], *, what: str,
                    atol: float = 1e-5, rtol: float = 1e-3) -> None:
    """Raise Fail naming the first input whose autograd gradient disagrees with finite differences."""
    if not result["requires_grad"][0]:
        raise Fail(f"{what}: the output does not require grad, so no gradient flows back. Did you "
                   "detach it, call .item()/.numpy(), or build it under torch.no_grad()?")
    for name, a, n in zip(names, result["analytic"], result["numeric"]):
        if not torch.allclose(a, n, atol=atol, rtol=rtol):
            worst = (a - n).abs().max().item()
            raise Fail(f"{what}: the gradient w.r.t. {name} from autograd differs from central finite "
                       f"differences in float64 (max difference {worst:.3g}). Something in your forward "
                       "pass is not differentiable the way it looks: a detach, an in-place edit or a "
                       "non-differentiable op.")
