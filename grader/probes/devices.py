"""Device placement without a GPU: run a function on fake CUDA (or CPU) tensors (child side).

`FakeTensorMode` propagates shapes, dtypes and devices without data and raises
`FakeTensorDeviceMismatchError` when an operation mixes devices, so "works on the CPU, breaks on the GPU"
bugs (an `arange` left on the default device, a hard-coded `.cuda()`) show up on a CPU-only machine.
Two gaps are filled here:

- Python-level calls such as `x[i]`, `x.cuda()` and `x.to("cuda")` open a CUDA device guard in C++, which a
  CPU-only build refuses ("not linked with support for cuda devices"). `_DeviceShim` routes them to aten
  ops that fake tensors support.
- Data-dependent control flow (`if indices.max() >= n: raise IndexError`) needs values. The function first
  runs on real CPU tensors while its scalar reads (`.item()`, `bool(t)`, `int(t)`) are recorded; the fake
  run replays them in the same order.

Anything else fake tensors cannot do is reported as inconclusive, never as a failure.
"""

from __future__ import annotations

import operator
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from grader.engine.submission import describe_exception
from grader.probes.ops import dynamo_only_when_loaded

NOT_LINKED = "not linked with support for"


class _Inconclusive(Exception):
    pass


@dynamo_only_when_loaded
class _Scalars(TorchDispatchMode):
    """Records the values of scalar reads, or replays recorded values in order."""

    def __init__(self, replay: list[Any] | None = None) -> None:
        super().__init__()
        self.replay = replay is not None
        self.values: list[Any] = list(replay) if replay is not None else []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten._local_scalar_dense.default:
            if not self.replay:
                value = func(*args, **(kwargs or {}))
                self.values.append(value)
                return value
            if not self.values:
                raise _Inconclusive("the code read more tensor values on the fake device than on the CPU")
            return self.values.pop(0)
        return func(*args, **(kwargs or {}))


def _student_line() -> str:
    """`cell 7, line 4: `code`` for the innermost frame of the submission's own code, or ''."""
    for frame in reversed(traceback.extract_stack()):
        if frame.filename.startswith("<") and not frame.filename.startswith(("<frozen", "<string")):
            return f"{frame.filename.strip('<>')}, line {frame.lineno}: `{(frame.line or '').strip()}`"
    return ""


class _DeviceShim(TorchFunctionMode):
    """Makes Python-level indexing and device moves work on fake CUDA tensors; notes where tensors appear
    on a device other than `home`. With `real=True`, every device request is turned into the CPU."""

    def __init__(self, *, real: bool, home: torch.device) -> None:
        super().__init__()
        self.real = real
        self.home = home
        self.sites: list[dict[str, str]] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if self.real and kwargs.get("device") is not None:
            kwargs["device"] = torch.device("cpu")
        out = self._call(func, args, kwargs)
        if not self.real:
            self._note(func, args, kwargs, out)
        return out

    def _call(self, func, args, kwargs):
        if func is torch.Tensor.__getitem__:
            if self.real:  # real CPU tensors index natively; only the fake device needs the stand-in
                return func(*args, **kwargs)
            from torch._subclasses.fake_tensor import FakeTensorDeviceMismatchError

            try:
                return _getitem(*args)
            except (_Inconclusive, IndexError, FakeTensorDeviceMismatchError):
                raise
            except Exception as exc:  # the stand-in's limit, not the student's mistake
                raise _Inconclusive(f"indexing with {type(args[1]).__name__} could not be simulated "
                                    f"({type(exc).__name__}: {exc})") from None
        if func is torch.Tensor.cuda:
            index = args[1] if len(args) > 1 else kwargs.get("device")
            target = torch.device("cuda", _cuda_index(index))
            return self._move(args[0], target, None)
        if func is torch.Tensor.to:
            device, dtype, _, _ = torch._C._nn._parse_to(*args[1:], **kwargs)
            return self._move(args[0], device, dtype)
        if func in _CONVERSIONS:  # int(t), float(t), t.__index__(): read the value as t.item() does
            return _CONVERSIONS[func](torch.ops.aten._local_scalar_dense.default(args[0]))
        if func is torch.Tensor.new_tensor:
            self_, data = args[0], args[1]
            return torch.tensor(data, dtype=kwargs.get("dtype") or self_.dtype,
                                device=kwargs.get("device") or self_.device)
        return func(*args, **kwargs)

    def _move(self, tensor: torch.Tensor, device: torch.device | None, dtype: torch.dtype | None):
        if device is not None:
            device = torch.device("cpu") if self.real else _normalized(device)
        if (device is None or device == tensor.device) and (dtype is None or dtype == tensor.dtype):
            return tensor
        return torch.ops.aten._to_copy.default(tensor, dtype=dtype or tensor.dtype,
                                               device=device or tensor.device)

    def _note(self, func, args, kwargs, out) -> None:
        outs = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        inputs = {t.device for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)}
        for t in outs:
            if t.device != self.home and t.device not in inputs and t.dim() > 0:
                self.sites.append({"call": _call_name(func), "device": str(t.device), "where": _student_line()})
                return


def _call_name(func: Any) -> str:
    """`.cuda()` for tensor methods, `torch.arange` for functions."""
    name = getattr(func, "__name__", str(func))
    qualname = getattr(func, "__qualname__", "")
    return f".{name}()" if qualname.startswith(("TensorBase.", "Tensor.")) else f"torch.{name}"


_CONVERSIONS = {torch.Tensor.__int__: int, torch.Tensor.__float__: float, torch.Tensor.__index__: operator.index}


def _cuda_index(index: Any) -> int:
    if index is None:
        return 0
    if isinstance(index, int):
        return index
    return torch.device(index).index or 0


def _normalized(device: torch.device | str) -> torch.device:
    device = torch.device(device)
    return torch.device("cuda", 0) if device.type == "cuda" and device.index is None else device


def _getitem(tensor: torch.Tensor, index: Any) -> torch.Tensor:
    """`tensor[index]` through aten ops (no device guard): ints, slices, None, ..., integer tensors/lists."""
    if isinstance(index, list) and any(isinstance(i, (torch.Tensor, slice, list)) or i is None or i is Ellipsis
                                       for i in index):
        index = tuple(index)  # as PyTorch reads a list of index objects (`data[[arange, inds, slice(None)]]`)
    items = index if isinstance(index, tuple) else (index,)
    if any(isinstance(i, bool) or isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in items):
        raise _Inconclusive("boolean-mask indexing cannot be simulated on a fake device")
    specified = sum(1 for i in items if i is not None and i is not Ellipsis)
    expanded: list[Any] = []
    for i in items:
        expanded += [slice(None)] * (tensor.dim() - specified) if i is Ellipsis else [i]
    out, dim, advanced = tensor, 0, []
    for i in expanded:
        if i is None:
            out = torch.ops.aten.unsqueeze.default(out, dim)
            advanced.append(None)
            dim += 1
        elif isinstance(i, int):
            out = torch.ops.aten.select.int(out, dim, i)
        elif isinstance(i, slice):
            step = 1 if i.step is None else i.step
            out = torch.ops.aten.slice.Tensor(out, dim, i.start, i.stop, step)
            advanced.append(None)
            dim += 1
        else:
            advanced.append(i if isinstance(i, torch.Tensor) else torch.tensor(i))
            dim += 1
    if any(a is not None for a in advanced):
        while advanced[-1] is None:
            advanced.pop()
        return torch.ops.aten.index.Tensor(out, advanced)
    return out if out is not tensor else torch.ops.aten.alias.default(out)


def run_on_device(fn: Callable[..., Any], inputs: Sequence[torch.Tensor], device: str) -> dict[str, Any]:
    """Run `fn(*inputs)` with the inputs on a fake `device` and report where its tensors went.

    Returns {"outcome", "output_device", "message", "where", "sites"}; outcome is
    - "ok": it ran; output_device is the output tensor's device (None when it returned no tensor);
    - "mismatch": an operation mixed devices; message is PyTorch's, where names the student's line;
    - "raised": the student's code raised on real CPU tensors too; message describes it;
    - "inconclusive": fake tensors cannot simulate what the code does; message says why.
    `sites` lists the calls that put a tensor on a device other than `device` (call, device, where).
    """
    from torch._subclasses.fake_tensor import FakeTensorDeviceMismatchError, FakeTensorMode

    home = _normalized(device)
    recorder, real_error = _Scalars(), None
    try:
        with torch.no_grad(), _DeviceShim(real=True, home=torch.device("cpu")), recorder:
            fn(*[x.detach().cpu() for x in inputs])
    except Exception as exc:  # noqa: BLE001 - the student's code; judged after the fake run
        real_error = exc
    shim = _DeviceShim(real=False, home=home)
    result: dict[str, Any] = {"outcome": "ok", "output_device": None, "message": "", "where": "",
                              "sites": shim.sites}
    mode = FakeTensorMode()
    try:
        with mode:
            fakes = [torch.empty(x.shape, dtype=x.dtype, device=home) for x in inputs]
        with torch.no_grad(), mode, _Scalars(recorder.values), shim:
            out = fn(*fakes)
        if isinstance(out, torch.Tensor):
            result["output_device"] = str(out.device)
    except FakeTensorDeviceMismatchError as exc:
        result.update(outcome="mismatch", message=str(exc), where=_where(exc))
    except _Inconclusive as exc:
        result.update(outcome="inconclusive", message=str(exc))
    except Exception as exc:  # noqa: BLE001 - the student's code, or something fakes cannot run
        if real_error is not None:
            result.update(outcome="raised", message=describe_exception(real_error))
        else:
            reason = "an operation that needs a real GPU" if NOT_LINKED in str(exc) else describe_exception(exc)
            result.update(outcome="inconclusive", message=f"fake tensors cannot run it: {reason}")
    return result


def _where(exc: BaseException) -> str:
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith("<") and not frame.filename.startswith(("<frozen", "<string")):
            return f"{frame.filename.strip('<>')}, line {frame.lineno}: `{(frame.line or '').strip()}`"
    return ""
