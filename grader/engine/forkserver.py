"""The grader's warm forkserver: one process that has imported torch, the probes and the judging helpers'
first-use imports (grader.engine.warm) once, and never the judges; each graded child is a cheap fork of it.

This module imports no torch, so that `course grade` can start the forkserver *before* it imports torch
itself: the two imports then run side by side on two cores instead of one after the other.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.context
import threading
from collections.abc import Callable, Iterator

_CONTEXT: multiprocessing.context.BaseContext | None = None
_MAIN_LOCK = threading.Lock()


def context() -> multiprocessing.context.BaseContext:
    """The forkserver context, with the preload list set (torch, the child runtime, the probes)."""
    global _CONTEXT
    if _CONTEXT is None:
        from grader.engine import registry

        lessons = registry.load(verify_implementations=False).lessons  # course.yml alone: no torch here
        probes = [f"grader.probes.{lesson.id}" for lesson in lessons if lesson.exercises]
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["grader.engine.child", "grader.engine.warm", *probes])
        _CONTEXT = ctx
    return _CONTEXT


def pid() -> int | None:
    import multiprocessing.forkserver as fs

    return getattr(fs._forkserver, "_forkserver_pid", None)


@contextlib.contextmanager
def without_main() -> Iterator[None]:
    """Children must not re-run the grading program's `__main__` (a script, pytest, nbgrader): multiprocessing
    would import it in the forkserver and in every child. Drop it from the preparation data meanwhile."""
    import multiprocessing.spawn as spawn

    original = spawn.get_preparation_data

    def preparation_data(name: str) -> dict:
        data = original(name)
        for key in ("init_main_from_path", "init_main_from_name", "main_path"):
            data.pop(key, None)
        return data

    with _MAIN_LOCK:
        spawn.get_preparation_data = preparation_data
        try:
            yield
        finally:
            spawn.get_preparation_data = original


def within(timeout_s: float, what: str, fn: Callable[[], object]) -> None:
    """Run `fn()` in a thread and give up after `timeout_s` (a stuck forkserver must not hang grading)."""
    error: list[BaseException] = []

    def run() -> None:
        try:
            with without_main():
                fn()
        except BaseException as exc:  # noqa: BLE001 - reported below
            error.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise RuntimeError(f"{what}: no answer within {timeout_s:g} s")
    if error:
        raise RuntimeError(f"{what}: {type(error[0]).__name__}: {error[0]}") from error[0]


def start(timeout_s: float = 120.0) -> None:
    """Start the forkserver now (it otherwise starts with the first child), within a deadline.

    This launches the process and returns: the forkserver imports its preload list in the background, and
    the first fork request waits for it.
    """
    import multiprocessing.forkserver

    context()
    within(timeout_s, "the grader's forkserver did not start", multiprocessing.forkserver.ensure_running)
