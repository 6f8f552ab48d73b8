"""Runners: where a submission's code runs when a check calls `sub.call(probe, *args)`.

- InProcessRunner: in this process (notebook self-check, `pytest exercises/...`). Results still make the
  round trip through grader.wire so that public checks see exactly the data hidden grading sees.
- IsolatedRunner: in a child process with a wall-clock timeout and a memory limit (hidden grading).
  A hang, crash or memory blow-up aborts the current check only; the next check gets a fresh child.
"""

from __future__ import annotations

import copy
import multiprocessing
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader import wire
from grader.checks import Aborted, StudentError
from grader.memory import rss_bytes
from grader.submission import CodeCell, Submission, alarm

MIB = 1 << 20


class InProcessRunner:
    def __init__(self, submission: Submission):
        self.submission = submission
        self.timeout_s = 0.0

    def start_check(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s

    def call(self, probe: Callable[..., Any], *args: Any) -> Any:
        from grader.submission import describe_exception
        from grader.worker import is_out_of_memory

        args = copy.deepcopy(args)  # as across a process boundary: student code cannot touch the judge's data
        try:
            with alarm(self.timeout_s, Aborted, f"timed out after {self.timeout_s:g} s"):
                result = probe(self.submission, *args)
        except (Aborted, StudentError):
            raise
        except BaseException as exc:  # noqa: BLE001 - student failures become messages
            kind = "oom" if is_out_of_memory(exc) else "raised"
            raise student_error(kind, describe_exception(exc), memory_mb=None) from exc
        return wire.roundtrip(result)

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

    def __init__(self, reason: str):
        self.reason = reason

    def start_check(self, timeout_s: float) -> None:
        pass

    def call(self, probe: Callable[..., Any], *args: Any) -> Any:
        raise Aborted(self.reason)

    def source(self, name: str) -> str | None:
        return None

    def close(self) -> None:
        pass

    def __enter__(self) -> UnreadableRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


_CONTEXT: multiprocessing.context.BaseContext | None = None


def _context() -> multiprocessing.context.BaseContext:
    """A forkserver that has imported torch, the lessons' check modules and the judging helpers'
    first-use imports (grader.warm) once; each child is a cheap, warm fork of it."""
    global _CONTEXT
    if _CONTEXT is None:
        from grader import registry

        lessons = [lesson.module for lesson in registry.course().lessons if lesson.exercises]
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["grader.worker", "grader.warm", *lessons])
        _CONTEXT = ctx
    return _CONTEXT


def start_forkserver() -> None:
    """Start the forkserver now (it otherwise starts with the first child), e.g. before a class is graded."""
    import multiprocessing.forkserver

    _context()
    multiprocessing.forkserver.ensure_running()


class IsolatedRunner:
    """Runs probes in a child process that has loaded the submission's code."""

    def __init__(self, cells: list[CodeCell], *, memory_mb: int, threads: int, load_timeout_s: float,
                 grace_s: float = 1.0):
        self.cells = cells
        self.memory_mb = memory_mb
        self.threads = threads
        self.load_timeout_s = load_timeout_s
        self.grace_s = grace_s
        self.deadline = float("inf")
        self.timeout_s = 0.0
        self.problems: list[str] = []
        self.load_failure: str | None = None
        self._process: Any = None
        self._conn: Any = None
        self._log = Path(tempfile.mkstemp(prefix="grader-child-", suffix=".log")[1])
        # The child works in a private folder: files the submission writes never land where the judge
        # (or the course) imports or reads from.
        self._workdir = Path(tempfile.mkdtemp(prefix="grader-work-"))

    # -- lifecycle -------------------------------------------------------------------------------------
    def start_check(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s

    def _start(self) -> None:
        if self.load_failure:
            raise Aborted(self.load_failure)
        ctx = _context()
        parent, child = ctx.Pipe()
        config = {"log_path": str(self._log), "threads": self.threads, "memory_mb": self.memory_mb,
                  "cell_timeout_s": self.load_timeout_s, "workdir": str(self._workdir)}
        self._process = ctx.Process(target=_child_main, args=(child, self.cells, config), daemon=True)
        self._process.start()
        child.close()
        self._conn = parent
        try:
            status, problems = self._receive(time.monotonic() + self.load_timeout_s + self.grace_s, "loading")
        except Aborted as exc:
            self.load_failure = f"while loading your code: {exc}"
            raise Aborted(self.load_failure) from None
        assert status == "ready", status
        self.problems = problems

    def close(self) -> None:
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(timeout=5)
            self._conn.close()
        self._process = None
        self._conn = None

    def __enter__(self) -> IsolatedRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        self._log.unlink(missing_ok=True)
        shutil.rmtree(self._workdir, ignore_errors=True)

    def source(self, name: str) -> str | None:
        """Source of the last top-level def/class `name` in the submission, read here, not in the child."""
        return definition_source(self.cells, name)

    # -- calls -----------------------------------------------------------------------------------------
    def call(self, probe: Callable[..., Any], *args: Any) -> Any:
        if self._process is None:
            self._start()
        self._conn.send_bytes(pickle.dumps((probe, args)))
        kind, value = self._receive(self.deadline + self.grace_s, "running")
        if kind == "ok":
            return value
        if worker_is_poisoned(value):  # the child exits after such an error; the next call starts afresh
            self.close()
        raise student_error(kind, value, memory_mb=self.memory_mb)

    def _receive(self, deadline: float, phase: str) -> Any:
        """Wait for the child's next message, watching its clock and its memory."""
        while True:
            if self._conn.poll(0.05):
                try:
                    payload = self._conn.recv_bytes()
                except (EOFError, OSError):
                    self._died(phase)
                try:
                    return wire.loads(payload)
                except Exception as exc:
                    self.close()
                    raise Aborted(f"your code sent back something that is not data ({exc})") from None
            if not self._process.is_alive():
                self._died(phase)
            if time.monotonic() > deadline:
                self.close()
                limit = self.load_timeout_s if phase == "loading" else self.timeout_s
                raise Aborted(f"timed out after {limit:g} s while {phase} (an endless loop, or far too slow?)")
            rss = rss_bytes(self._process.pid)
            if rss > self.memory_mb * MIB + 1024 * MIB:  # the limit plus torch's own footprint
                self.close()
                raise Aborted(f"used more than {self.memory_mb} MiB of memory and was stopped")

    def _died(self, phase: str) -> None:
        self._process.join(timeout=5)
        code = self._process.exitcode
        self.close()
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        if code == -9:
            how += " (usually: out of memory)"
        tail = self._log_tail()
        raise Aborted(f"the process running your code {how} while {phase}" + (f"; its last output: {tail}"
                                                                               if tail else ""))

    def _log_tail(self, chars: int = 300) -> str:
        try:
            text = self._log.read_text(errors="replace").strip()
        except OSError:
            return ""
        return " ".join(text[-chars:].split())


def worker_is_poisoned(message: str) -> bool:
    from grader.worker import is_poisoning

    return is_poisoning(Exception(message))


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


def _child_main(conn: Any, cells: list[CodeCell], config: dict[str, Any]) -> None:
    from grader.worker import main

    main(conn, cells, config)

