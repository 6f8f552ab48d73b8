"""Runners: where a submission's code runs when a check calls `sub.call(probe, *args)`.

- InProcessRunner: in this process (notebook self-check, `pytest exercises/...`). Results still make the
  round trip through grader.engine.wire so that public checks see exactly the data hidden grading sees.
- IsolatedRunner: in a sealed child process (grader.engine.child) with a wall-clock deadline, a memory limit on
  its whole process tree, and caps on what it may send back (hidden grading). A hang, crash or memory
  blow-up aborts the current check only; the next check gets a fresh child. Requests name probes by id.

Both offer `prepare(probe, *args)` and `go(*sample) -> (reply, seconds)` for speed checks: the judge's
clock times `go`. `clean()` is a runner of the same kind that never loaded the submission (baselines).
"""

from __future__ import annotations

import copy
import functools
import os
import shutil
import signal
import socket
import tempfile
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.engine import channel, forkserver, wire
from grader.engine.checks import Aborted, StudentError
from grader.engine.memory import cpu_times, rss_bytes
from grader.engine.submission import CodeCell, Submission, alarm
from grader.probes import probe_id

MIB = 1 << 20
MAX_PROCESSES = 64  # processes (threads included) the submission's tree may hold at once
CHILD_SUBPACKAGES = ("probes", "engine", "data")  # what runs in the child; never lessons/ (the judges)


def _data_dir(owner: object) -> Path:
    """A temporary folder for the judge's input files, removed with `owner`."""
    path = Path(tempfile.mkdtemp(prefix="grader-data-"))
    weakref.finalize(owner, shutil.rmtree, path, True)
    return path


class InProcessRunner:
    def __init__(self, submission: Submission):
        self.submission = submission
        self.timeout_s = 0.0
        self._go: Callable[..., Any] | None = None
        self.data_dir = _data_dir(self)

    def start_check(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s

    def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        from grader.engine.child import is_out_of_memory
        from grader.engine.submission import describe_exception

        try:
            with alarm(self.timeout_s, Aborted, f"timed out after {self.timeout_s:g} s"):
                return fn(*args)
        except (Aborted, StudentError):
            raise
        except BaseException as exc:  # noqa: BLE001 - student failures become messages
            kind = "oom" if is_out_of_memory(exc) else "raised"
            raise student_error(kind, describe_exception(exc), memory_mb=None) from exc

    def call(self, probe: Callable[..., Any], *args: Any) -> Any:
        args = copy.deepcopy(args)  # as across a process boundary: student code cannot touch the judge's data
        return wire.roundtrip(self._run(probe, self.submission, *args))

    def prepare(self, probe: Callable[..., Any], *args: Any) -> Any:
        info, self._go = self._run(probe, self.submission, *copy.deepcopy(args))
        return wire.roundtrip(info)

    def go(self, *sample: Any) -> tuple[Any, float]:
        start = time.perf_counter()
        reply = wire.roundtrip(self._run(self._go, *copy.deepcopy(sample)))
        return reply, time.perf_counter() - start

    def clean(self) -> InProcessRunner:
        return self

    def source(self, name: str) -> str | None:
        """Source of the student's def/class `name`, for static checks (None when unavailable)."""
        import inspect

        try:
            return inspect.getsource(self.submission.get(name))
        except (StudentError, OSError, TypeError):
            return None

    def close(self) -> None:
        pass


class UnreadableRunner:
    """Stands in for a submission that could not be read: every call fails with the reason."""

    sandbox = "not run: the submission could not be read"

    def __init__(self, reason: str):
        self.data_dir = _data_dir(self)
        self.reason = reason

    def start_check(self, timeout_s: float) -> None:
        pass

    def call(self, probe: Callable[..., Any], *args: Any) -> Any:
        raise Aborted(self.reason)

    prepare = call

    def go(self, *sample: Any) -> tuple[Any, float]:
        raise Aborted(self.reason)

    def clean(self) -> UnreadableRunner:
        return self

    def source(self, name: str) -> str | None:
        return None

    def close(self) -> None:
        pass

    def __enter__(self) -> UnreadableRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


# the warm forkserver lives in grader.engine.forkserver (torch-free, so `course grade` can start it first)
_context, _within = forkserver.context, forkserver.within
start_forkserver, _forkserver_pid = forkserver.start, forkserver.pid


@functools.lru_cache(maxsize=1)
def readable_paths() -> tuple[str, ...]:
    """What a child may read: the Python environment and the child's own part of the grader package."""
    from grader.engine import sandbox

    package = Path(__file__).resolve().parents[1]
    return tuple(sandbox.readable_roots(package_dir=str(package), child_subpackages=CHILD_SUBPACKAGES))


def _descendants(pid: int) -> list[int]:
    """`pid` and every process below it (via /proc/PID/task/*/children)."""
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
            except (OSError, ValueError):
                pass
        if len(found) > 4096:
            break
    return found


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


class IsolatedRunner:
    """Runs probes in a sealed child process that has loaded the submission's code."""

    def __init__(self, cells: list[CodeCell], *, memory_mb: int, threads: int, load_timeout_s: float,
                 grace_s: float = 1.0, network: str = "none"):
        self.cells = cells
        self.network = network
        self.memory_mb = memory_mb
        self.threads = threads
        self.load_timeout_s = load_timeout_s
        self.grace_s = grace_s
        self.deadline = float("inf")
        self.timeout_s = 0.0
        self.problems: list[str] = []
        self.load_failure: str | None = None
        self.sandbox: str | None = None  # the child's own account of its seal, sent before student code ran
        self.sealed = False
        self._process: Any = None
        self._sock: socket.socket | None = None
        self._clean: IsolatedRunner | None = None
        fd, log = tempfile.mkstemp(prefix="grader-child-", suffix=".log")
        os.close(fd)  # the child opens it by name; an fd kept here leaked one per runner (a class hit ulimit -n)
        self._log = Path(log)
        # The child works in a private folder, the only one it may write; judges put the files it must read
        # (and may not change) in data_dir.
        self._workdir = Path(tempfile.mkdtemp(prefix="grader-work-"))
        self.data_dir = Path(tempfile.mkdtemp(prefix="grader-data-"))
        self.peak_rss = 0  # the highest memory of the tree seen during the last request, in bytes
        self.rss_before = 0  # ... and its memory when that request was sent

    # -- lifecycle -------------------------------------------------------------------------------------
    def start_check(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self._reap_strays()
        if self._clean is not None:
            self._clean.start_check(timeout_s)

    def _reap_strays(self) -> None:
        """Between checks, only the process serving probes may live: anything it started is killed."""
        pids = self.tree()
        keep = pids[:3] if self.namespaced else pids[:1]  # the forked child (namespaced: its pid 1 and worker)
        _kill([pid for pid in pids if pid not in keep])

    @property
    def namespaced(self) -> bool:
        return bool(self.sandbox) and "pid+net namespaces" in self.sandbox

    def _start(self) -> None:
        if self.load_failure:
            raise Aborted(self.load_failure)
        ctx = _context()
        start_forkserver()
        fs_pid = _forkserver_pid()
        if fs_pid:  # a stopped forkserver would hang every start
            try:
                os.kill(fs_pid, signal.SIGCONT)
            except OSError:
                pass
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        config = {"log_path": str(self._log), "threads": self.threads, "memory_mb": self.memory_mb,
                  "cell_timeout_s": self.load_timeout_s, "workdir": str(self._workdir),
                  "read_paths": [*readable_paths(), str(self.data_dir)], "max_processes": MAX_PROCESSES,
                  "network": self.network}
        from grader.engine.child import main

        self._process = ctx.Process(target=main, args=(child, self.cells, config), daemon=True)
        self._start_process()
        child.close()
        self._sock = parent
        deadline = time.monotonic() + 30 + self.grace_s
        try:
            kind, self.sandbox, self.sealed = self._receive(deadline, "starting")
            if kind != "sealed":
                raise Aborted("the child did not report its sandbox")
            status, problems = self._receive(time.monotonic() + self.load_timeout_s * max(len(self.cells), 1)
                                             + self.grace_s, "loading")
        except Aborted as exc:
            self.load_failure = f"while loading your code: {exc}"
            raise Aborted(self.load_failure) from None
        if status != "ready" or not isinstance(problems, list):
            self.close()
            raise Aborted("the process running your code sent a malformed message while loading")
        self.problems = [str(p) for p in problems]

    def _start_process(self, timeout_s: float = 60.0) -> None:
        try:
            _within(timeout_s, "starting a process", self._process.start)
        except RuntimeError as exc:
            raise Aborted(f"the grader could not start a process for your code ({exc})") from None

    def tree(self) -> list[int]:
        return _descendants(self._process.pid) if self._process is not None and self._process.pid else []

    def close(self) -> None:
        if self._process is not None:
            _kill(self.tree())
            if self._process.pid:  # None when interrupted before the process was started
                try:
                    os.killpg(self._process.pid, signal.SIGKILL)
                except OSError:
                    pass
                self._process.join(timeout=5)
            if self._sock is not None:
                self._sock.close()
        self._process = None
        self._sock = None

    def __enter__(self) -> IsolatedRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        if self._clean is not None:
            self._clean.__exit__(*exc)
        self._log.unlink(missing_ok=True)
        shutil.rmtree(self._workdir, ignore_errors=True)
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def clean(self) -> IsolatedRunner:
        """A child of the same kind that never loaded the submission: baselines are timed there."""
        if self._clean is None:
            self._clean = IsolatedRunner([], memory_mb=self.memory_mb, threads=self.threads,
                                         load_timeout_s=self.load_timeout_s, grace_s=self.grace_s)
            self._clean.start_check(self.timeout_s)
            self._clean.deadline = self.deadline
        return self._clean

    def source(self, name: str) -> str | None:
        """Source of the last top-level def/class `name` in the submission, read here, not in the child."""
        return definition_source(self.cells, name)

    # -- calls -----------------------------------------------------------------------------------------
    def _request(self, kind: str, name: str, args: tuple) -> Any:
        if self._process is None:
            if kind == "go":
                raise Aborted("the process running your code was restarted between preparing and timing")
            self._start()
        self.rss_before = self.peak_rss = self.rss()
        try:
            channel.send(self._sock, wire.dumps((kind, name, args)), self.deadline + self.grace_s)
        except channel.ChannelError:
            self._fail_dead("running")
        reply = self._receive(self.deadline + self.grace_s, "running")
        if not isinstance(reply, tuple) or len(reply) != 2 or not isinstance(reply[0], str):
            self.close()
            raise Aborted("the process running your code sent a malformed reply")
        kind_, value = reply
        if kind_ == "ok":
            return value
        if not isinstance(value, str):
            self.close()
            raise Aborted("the process running your code sent a malformed reply")
        from grader.engine.child import is_poisoning

        if is_poisoning(Exception(value)):  # the child exits after such an error; the next call starts afresh
            self.close()
        raise student_error(kind_, value, memory_mb=self.memory_mb)

    def call(self, probe: Callable[..., Any], *args: Any) -> Any:
        return self._request("call", probe_id(probe), args)

    def prepare(self, probe: Callable[..., Any], *args: Any) -> Any:
        return self._request("prepare", probe_id(probe), args)

    def go(self, *sample: Any) -> tuple[Any, float]:
        start = time.perf_counter()
        reply = self._request("go", "", sample)
        return reply, self.last_reply_at - start

    def _receive(self, deadline: float, phase: str) -> Any:
        """Wait for the child's next message, watching its clock, its tree's memory and process count."""
        try:
            payload = channel.recv(self._sock, deadline=deadline, max_bytes=wire.MAX_REPLY_BYTES,
                                   tick=lambda: self._watch(phase))
        except channel.TimedOut:
            self.close()
            limit = self.load_timeout_s if phase == "loading" else self.timeout_s
            raise Aborted(f"timed out after {limit:g} s while {phase} (an endless loop, or far too slow?)") from None
        except channel.TooLarge as exc:
            self.close()
            raise Aborted(f"your code sent back too much data ({exc})") from None
        except channel.ChannelError:
            self._fail_dead(phase)
        self.last_reply_at = time.perf_counter()
        try:
            return wire.loads(payload)
        except wire.NotData as exc:
            self.close()
            raise Aborted(f"your code sent back something the grader does not accept: {exc}") from None

    def _watch(self, phase: str) -> None:
        if not self._process.is_alive():
            self._fail_dead(phase)
        pids = self.tree()
        if len(pids) > MAX_PROCESSES:
            self.close()
            raise Aborted(f"your code started more than {MAX_PROCESSES} processes and was stopped")
        rss = self.rss(pids)
        self.peak_rss = max(self.peak_rss, rss)
        if rss > self.memory_mb * MIB + 1024 * MIB:  # the limit plus torch's own footprint
            self.close()
            raise Aborted(f"used more than {self.memory_mb} MiB of memory and was stopped")

    def _serving(self, pids: list[int] | None = None) -> list[int]:
        """The processes that run the submission's code (namespaced, the first two only wait: for pid 1,
        for the worker; their pages are shared)."""
        pids = self.tree() if pids is None else pids
        return pids[2:] if self.namespaced else pids

    def rss(self, pids: list[int] | None = None) -> int:
        """Resident memory of the processes running the submission, in bytes."""
        return sum(rss_bytes(pid) for pid in self._serving(pids))

    def cpu_by_process(self) -> dict[int, float]:
        """Each process running the submission (the first serves the probes; the others are what it
        started, e.g. DataLoader workers): its own CPU seconds so far, read from /proc here."""
        return {pid: cpu_times(pid)[0] for pid in self._serving()}

    def cpu_times(self) -> tuple[float, float]:
        """CPU seconds used so far by the processes running the submission, and by the children they have
        reaped (DataLoader workers), read from /proc here."""
        times = [cpu_times(pid) for pid in self._serving()]
        return sum(t[0] for t in times), sum(t[1] for t in times)

    def _fail_dead(self, phase: str) -> None:
        self._process.join(timeout=5)
        code = self._process.exitcode
        self.close()
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        if code in (-9, 137):
            how += " (usually: out of memory)"
        tail = self._log_tail()
        raise Aborted(f"the process running your code {how} while {phase}" + (f"; its last output: {tail}"
                                                                               if tail else ""))

    def _log_tail(self, chars: int = 300) -> str:
        try:
            with open(self._log, "rb") as f:
                f.seek(max(0, os.path.getsize(self._log) - chars))
                text = f.read().decode("utf-8", errors="replace").strip()
        except OSError:
            return ""
        return " ".join(text.split())


def student_error(kind: str, message: str, *, memory_mb: int | None) -> StudentError:
    """The exception a check sees when the student's code failed inside a probe."""
    if kind == "oom":
        limit = f" (limit {memory_mb} MiB)" if memory_mb else ""
        return StudentError(f"your code ran out of memory{limit}: {message}")
    if kind == "raised":
        return StudentError(f"your code raised {message}")
    return StudentError(message)


def definition_source(cells: list[CodeCell], name: str) -> str | None:
    import ast

    found = None
    for cell in cells:
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
                found = ast.get_source_segment(cell.source, node)
    return found
