"""The isolated child: loads the submission, then runs probes on request and sends back data.

Started by grader.isolation through a multiprocessing forkserver that has already imported torch,
so starting (or restarting after a crash) costs milliseconds, not a torch import.
"""

from __future__ import annotations

import os
import pickle
import resource
import sys
import traceback
from typing import Any

import torch

from grader import wire
from grader.submission import CodeCell, describe_exception, run_cells

MIB = 1 << 20


def _limit_memory(memory_mb: int) -> None:
    """Cap the address space at what torch already maps plus `memory_mb` (CPU-only hosts)."""
    if torch.cuda.is_available():  # CUDA maps huge virtual ranges; the parent's RSS watch covers it
        return
    with open("/proc/self/status") as status:
        vm_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    limit = vm_kb * 1024 + memory_mb * MIB
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _redirect_output(log_path: str) -> None:
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)


def is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or "can't allocate memory" in str(exc) or "out of memory" in str(exc)


def is_poisoning(exc: BaseException) -> bool:
    """Errors after which this process cannot be trusted (a CUDA device-side assert breaks the context)."""
    text = str(exc)
    return "device-side assert" in text or "CUDA error" in text


def main(conn: Any, cells: list[CodeCell], config: dict[str, Any]) -> None:
    _redirect_output(config["log_path"])
    os.chdir(config["workdir"])
    sys.path[:] = [p for p in sys.path if p not in ("", ".")]  # nothing the submission writes is importable
    torch.set_num_threads(config["threads"])
    _limit_memory(config["memory_mb"])
    sub = run_cells(cells, cell_timeout_s=config["cell_timeout_s"])
    conn.send_bytes(wire.dumps(("ready", sub.problems)))
    while True:
        try:
            request = conn.recv_bytes()
        except EOFError:
            return
        probe, args = pickle.loads(request)
        poisoned = False
        try:
            payload = wire.dumps(("ok", probe(sub, *args)))
        except BaseException as exc:  # noqa: BLE001 - every failure of student code is reported as data
            kind = "oom" if is_out_of_memory(exc) else "raised"
            if type(exc).__name__ == "StudentError":
                kind = "message"
            message = str(exc) if kind == "message" else describe_exception(exc)
            if config.get("debug"):
                traceback.print_exc()
            payload = wire.dumps((kind, message))
            poisoned = is_poisoning(exc)
        conn.send_bytes(payload)
        if poisoned:  # the parent starts a fresh child for the next check
            return
