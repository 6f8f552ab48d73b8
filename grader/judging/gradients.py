"""Gradient checks by central differences in float64 (judge side).

The child computes both Jacobians of the student's function (grader.probes.jacobians), the parent compares
them, as torch.autograd.gradcheck does, with its default tolerances.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from grader.engine.checks import Fail


def judge_jacobians(result: dict[str, list[torch.Tensor]], names: Sequence[str], *, what: str,
                    atol: float = 1e-5, rtol: float = 1e-3) -> None:
    """Raise Fail naming the first input whose autograd gradient disagrees with finite differences."""
    if not result["requires_grad"][0]:
        raise Fail(f"{what}: the output does not require grad, so no gradient flows back. Did you "
                   "detach it, call .item()/.numpy(), or build it under torch.no_grad()?")
    dtype = (result.get("dtype") or ["float64"])[0]
    if dtype != "float64":
        raise Fail(f"{what}: given float64 inputs, your code returned {dtype}: it computes in a lower precision "
                   "somewhere (a tensor created without dtype=..., a .float() call), so its gradient cannot be "
                   "checked against float64 finite differences. Keep the input's dtype throughout.")
    for name, a, n in zip(names, result["analytic"], result["numeric"]):
        if not torch.allclose(a, n, atol=atol, rtol=rtol):
            worst = (a - n).abs().max().item()
            raise Fail(f"{what}: the gradient w.r.t. {name} from autograd differs from central finite "
                       f"differences in float64 (max difference {worst:.3g}). Something in your forward "
                       "pass is not differentiable the way it looks: a detach, an in-place edit or a "
                       "non-differentiable op.")
