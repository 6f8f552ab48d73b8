"""`course doctor`'s question, answered by the engine itself: does a graded child run sealed here?"""

from __future__ import annotations

from grader.probes import probe_nothing


def probe_sandbox() -> tuple[str, bool]:
    """Start one child with an empty submission, exactly as grading does; return its sandbox line."""
    from grader.engine.runners import IsolatedRunner

    with IsolatedRunner([], memory_mb=512, threads=1, load_timeout_s=30) as runner:
        runner.start_check(60)
        runner.call(probe_nothing)
        return runner.sandbox or "unknown", runner.sealed
