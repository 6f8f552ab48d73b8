"""Probes: the code that runs beside the student's code, in the sealed child (or in the notebook's kernel
for self-checks). Nothing here judges; probes call the student's code and return plain data.

Each probe is registered under a fixed id (`lesson3.merge_forward`). The judge sends the id, never code: the
child copies this table before the submission's first line runs, so a submission that replaces a module's
`probe_*` attribute changes nothing the judge asks for. Everything judged is still checked in the parent.

Timed probes (`@timed`) take two steps so that the judge can time with its own clock: `prepare(sub, ...)`
builds fresh inputs (untimed) and returns `(info, go)`; the judge then times `go(sample)` end to end, with
the reply, and checks the sampled outputs it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PROBES: dict[str, Callable[..., Any]] = {}


def probe(lesson: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `fn` as probe `LESSON.NAME` (the `probe_` prefix dropped)."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        probe_id = f"{lesson}.{fn.__name__.removeprefix('probe_')}"
        if probe_id in PROBES and PROBES[probe_id] is not fn:
            raise ValueError(f"probe {probe_id} registered twice")
        PROBES[probe_id] = fn
        fn.probe_id = probe_id  # type: ignore[attr-defined]
        return fn

    return register


def probe_id(fn: Callable[..., Any]) -> str:
    try:
        return fn.probe_id  # type: ignore[attr-defined]
    except AttributeError:
        raise TypeError(f"{fn!r} is not a registered probe (decorate it with @probe(lesson))") from None


@probe("engine")
def probe_nothing(sub: Any) -> None:
    """Does nothing: starting the child is what `course doctor` tests."""
    return None


def frozen() -> dict[str, Callable[..., Any]]:
    """A private copy of the table, taken before any student code runs."""
    return dict(PROBES)


def plain_tensor(value: object, what: str) -> Any:
    """`value` if it is an ordinary tensor. Subclasses are refused: a lazy subclass could defer the work
    past the judge's clock, or hide operations from the recorders."""
    import torch

    from grader.engine.checks import StudentError

    if type(value) is not torch.Tensor and type(value) is not torch.nn.Parameter:
        raise StudentError(f"{what} must return a torch.Tensor, got {type(value).__name__}")
    return value


def pick(y: Any, flat_index: Any) -> dict[str, Any]:
    """What a timed probe sends back for one output: its shape, dtype and the values at `flat_index`."""
    import torch

    shape = list(y.shape)
    flat = y.detach().reshape(-1)
    index = flat_index[flat_index < flat.numel()]
    return {"shape": shape, "dtype": str(y.dtype), "device": y.device.type,
            "values": flat[index.to(flat.device)].to("cpu", torch.float64)}


def synchronize(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()
