"""The sealed child: load the submission, then run probes on request and send back data.

Forked from a forkserver that has imported torch and the probes (never the judges), so a child starts in
milliseconds. Before the submission's first line runs, the child
1. leaves the judge's session and, where the kernel allows, enters new pid, network and IPC namespaces
   (it becomes pid 1 of its own tree: when it dies, every process it started dies with it);
2. seals itself (grader.engine.sandbox: Landlock on files, TCP and signals; file-size, core and process limits)
   and reports what holds, so that the judge can say whether grading was sealed;
3. copies the probe table (grader.probes.frozen): requests name a probe, they never carry code.
The judge times, compares and awards; nothing here decides a grade.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import socket
import sys
import tempfile
import traceback
from typing import Any

import torch

from grader.engine import channel, sandbox, wire
from grader.engine.checks import StudentError
from grader.engine.submission import describe_exception, run_cells

MIB = 1 << 20
CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x10000000, 0x20000000, 0x40000000
CLONE_NEWNS = 0x00020000
PR_SET_PDEATHSIG = 1


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _loopback_up() -> None:
    """Bring up `lo` in this (new, empty) network namespace: 127.0.0.1 and nothing else."""
    import fcntl
    import struct

    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s.fileno(), siocgifflags, request))[1]
        fcntl.ioctl(s.fileno(), siocsifflags, struct.pack("16sH14x", b"lo", flags | iff_up))


def _namespaces(loopback: bool = False) -> tuple[list[str], list[str]]:
    """unshare pid/net/ipc (and user, when not root); with `loopback`, bring up 127.0.0.1 in the new network
    namespace. Returns (layers, missing)."""
    if not sys.platform.startswith("linux"):
        return [], ["namespaces: not Linux"]
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWNS | (0 if uid == 0 else CLONE_NEWUSER)
    if libc.unshare(flags) != 0:
        return [], [f"namespaces: unshare failed ({os.strerror(ctypes.get_errno())})"]
    if uid != 0:
        try:
            _write("/proc/self/setgroups", "deny")
            _write("/proc/self/uid_map", f"{uid} {uid} 1")
            _write("/proc/self/gid_map", f"{gid} {gid} 1")
        except OSError:
            pass
    layers = ["pid+net namespaces"]
    missing = []
    if sandbox.private_shm(libc):
        layers.append("private /dev/shm")
    else:
        missing.append(f"private /dev/shm: mounting a tmpfs failed ({os.strerror(ctypes.get_errno())})")
    if loopback:
        try:
            _loopback_up()
        except OSError as exc:
            return layers, [*missing, f"loopback: could not bring up lo ({exc})"]
        layers.append("loopback only")
    return layers, missing


def _wait_for(pid: int) -> int:
    """Wait for `pid` (reaping any other child meanwhile: pid 1 adopts orphans); its status as an exit code,
    128 + N when a signal N killed it."""
    while True:
        try:
            done, status = os.wait()
        except ChildProcessError:
            return 1
        except InterruptedError:
            continue
        if done == pid:
            return 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.waitstatus_to_exitcode(status)


def _exit_like(code: int) -> None:
    """Exit as the child did: re-raise its fatal signal, so the judge sees 'killed by signal N'."""
    if code > 128:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        signal.signal(code - 128, signal.SIG_DFL)
        os.kill(os.getpid(), code - 128)
    os._exit(code & 0xFF)


def _enter_own_tree(loopback: bool = False) -> tuple[list[str], list[str]]:
    """New session; then, when namespaces work, two forks: this process waits and exits as its child does;
    the child is pid 1 of the new namespace (when it dies, every process in it dies) and only reaps; its own
    child, an ordinary process, goes on to run the submission."""
    os.setsid()
    layers, missing = _namespaces(loopback)
    if not layers:
        return ["own session"], missing
    libc = ctypes.CDLL(None, use_errno=True)
    pid = os.fork()
    if pid:
        _exit_like(_wait_for(pid))
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # pid 1 dies with the process the judge holds
    pid = os.fork()
    if pid:
        os._exit(min(_wait_for(pid), 255))  # pid 1 cannot re-raise a signal on itself: 128 + N says it
    # multiprocessing started the judge's child as a daemon; this worker is a plain process, and may start
    # its own (DataLoader workers, distributed ranks): they all die with pid 1.
    import multiprocessing.process

    multiprocessing.process.current_process()._config.pop("daemon", None)
    return ["own session", *layers], missing


def _limit_memory(memory_mb: int) -> None:
    """Cap the address space at what torch already maps plus `memory_mb` (CPU-only hosts)."""
    if torch.cuda.is_available():  # CUDA maps huge virtual ranges; the judge's RSS watch covers it
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


def _from_probe(exc: BaseException, probe_files: frozenset[str]) -> bool:
    """A grader message: a StudentError raised by the grader's own code, not by the submission's."""
    if type(exc) is not StudentError:
        return False
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and frames[-1].filename in probe_files


def _dense(value: Any) -> Any:
    """Tensors as compact copies (an expanded view would otherwise look like a memory bomb to the judge)."""
    if isinstance(value, torch.Tensor):
        return value.detach().contiguous().clone() if value.layout == torch.strided else value
    if isinstance(value, dict):
        return {k: _dense(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_dense(v) for v in value)
    return value


def _failure(exc: BaseException, probe_files: frozenset[str]) -> tuple[str, str]:
    if _from_probe(exc, probe_files):
        return "probe", str(exc)
    return ("oom" if is_out_of_memory(exc) else "raised"), describe_exception(exc)


def main(sock: Any, cells: list, config: dict[str, Any]) -> None:
    from grader import probes
    from grader.engine import sandbox

    layers, missing = _enter_own_tree(config.get("network") == "loopback")
    _redirect_output(config["log_path"])
    os.chdir(config["workdir"])
    os.environ["TMPDIR"] = config["workdir"]  # tempfile and multiprocessing's sockets: the one writable folder
    tempfile.tempdir = config["workdir"]
    import multiprocessing.process

    multiprocessing.process.current_process()._config.pop("tempdir", None)  # the forkserver's, in /tmp
    sys.path[:] = [p for p in sys.path if p not in ("", ".")]  # nothing the submission writes is importable
    torch.set_num_threads(config["threads"])
    _limit_memory(config["memory_mb"])
    # TCP is allowed only inside a private network namespace whose one interface is 127.0.0.1
    write = [config["workdir"], *([sandbox.SHM] if "private /dev/shm" in layers else [])]
    sealed = sandbox.seal(read=config["read_paths"], write=write,
                          max_processes=config["max_processes"], network="loopback only" in layers)
    missing += [m for m in sealed.missing if not (m.startswith("process limit") and "pid+net namespaces" in layers)]
    status = sandbox.Sealed(tuple(sealed.layers) + tuple(layers), tuple(missing))
    table = probes.frozen()  # before the submission's first line
    probe_files = frozenset(sys.modules[fn.__module__].__file__ for fn in table.values()) | \
        frozenset(sys.modules[m].__file__ for m in ("grader.engine.submission", "grader.probes"))
    channel.send(sock, wire.dumps(("sealed", sandbox.describe(status), "landlock-fs" in status.layers)))
    sub = run_cells(cells, cell_timeout_s=config["cell_timeout_s"])
    channel.send(sock, wire.dumps(("ready", sub.problems)))
    pending = None  # the `go` of the last prepared timed probe
    while True:
        try:
            kind, name, args = wire.loads(channel.recv(sock))
        except channel.ChannelError:
            os._exit(0)
        poisoned = False
        try:
            if kind == "call":
                reply = ("ok", _dense(table[name](sub, *args)))
            elif kind == "prepare":
                info, pending = table[name](sub, *args)
                reply = ("ok", _dense(info))
            else:  # "go"
                reply = ("ok", _dense(pending(*args)))
            payload = wire.dumps(reply)
        except BaseException as exc:  # noqa: BLE001 - every failure of student code is reported as data
            payload = wire.dumps(_failure(exc, probe_files))
            poisoned = is_poisoning(exc)
            if config.get("debug"):
                traceback.print_exc()
        channel.send(sock, payload)
        # torch's DataLoader leaves a SIGCHLD handler that raises when one of its workers dies: the judge
        # kills leftover processes between checks, which must not kill this process in between requests
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        if poisoned:  # the judge starts a fresh child for the next check
            os._exit(0)
