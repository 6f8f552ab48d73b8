"""The one engine: run registered checks against a runner and turn outcomes into report rows.

Every entry point goes through `run_check`: the notebook's `check(obj)`, `pytest exercises/lessonN`,
and `course grade` (which adds isolation via IsolatedRunner).
"""

from __future__ import annotations

import dataclasses
import traceback
from collections.abc import Iterable, Iterator
from pathlib import Path

from grader import registry
from grader.checks import Aborted, Fail, Skip, StudentError, implementations
from grader.registry import CheckSpec, LessonSpec
from grader.report import CheckResult, Report
from grader.runners import IsolatedRunner, UnreadableRunner
from grader.submission import SubmissionUnreadable, read_code


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def run_check(spec: CheckSpec, device: str, sub) -> CheckResult:
    """Run one check on one device. Never raises: every outcome becomes a row."""

    def row(status: str, message: str, points: float = 0.0, measured: float | None = None) -> CheckResult:
        max_points = 0.0 if status == "skipped" else spec.points
        return CheckResult(spec.exercise, spec.name, device, status, points, max_points, str(message),
                           spec.public, measured)

    if device == "cuda" and not cuda_available():
        return row("skipped", "skipped: no CUDA device on this machine")
    fn = implementations(f"grader.lessons.{spec.lesson}")[(spec.exercise, spec.name)]
    sub.start_check(spec.timeout_s)
    try:
        message = fn(sub, device, spec)
    except Fail as exc:
        return row("failed", str(exc), measured=exc.measured)
    except Skip as exc:
        return row("skipped", f"skipped: {exc}")
    except StudentError as exc:
        return row("error", str(exc))
    except Aborted as exc:
        return row("error", str(exc))
    except Exception as exc:  # a bug in the grader must not cost other checks
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return row("error", f"internal grader error ({type(exc).__name__}: {exc} at "
                            f"{Path(where.filename).name}:{where.lineno}); please report it")
    return row("passed", message or "ok", spec.points, getattr(message, "measured", None))


def select(lesson: LessonSpec, *, public_only: bool = False, exercise: str | None = None,
           names: Iterable[str] | None = None) -> list[CheckSpec]:
    wanted = set(names) if names is not None else None
    return [c for c in lesson.checks
            if (not public_only or c.public) and exercise in (None, c.exercise)
            and (wanted is None or c.name in wanted)]


def run_checks(checks: Iterable[CheckSpec], sub) -> Iterator[CheckResult]:
    for spec in checks:
        for device in spec.devices:
            yield run_check(spec, device, sub)


def isolated_runner(lesson: LessonSpec, submission: Path) -> IsolatedRunner | UnreadableRunner:
    """The runner hidden grading uses for `submission`; an unreadable file gives a runner whose every
    call fails with the reason, so each check still gets its row."""
    try:
        cells = read_code(submission)
    except SubmissionUnreadable as exc:
        return UnreadableRunner(f"could not read the submission: {exc}")
    return IsolatedRunner(cells, memory_mb=lesson.memory_mb, threads=lesson.threads,
                          load_timeout_s=lesson.load_timeout_s)


def with_timeout(lesson: LessonSpec, checks: list[CheckSpec], timeout_s: float | None
                 ) -> tuple[LessonSpec, list[CheckSpec]]:
    """Override course.yml's per-check and per-cell limits (e.g. `course grade --timeout`)."""
    if timeout_s is None:
        return lesson, checks
    return (dataclasses.replace(lesson, load_timeout_s=timeout_s),
            [dataclasses.replace(spec, timeout_s=timeout_s) for spec in checks])


def grade(lesson_id: str, submission: Path | str | None = None, *, public_only: bool = False,
          checks: Iterable[str] | None = None, timeout_s: float | None = None) -> Report:
    """Grade a notebook or .py against a lesson's checks, each run in an isolated child process.

    Raises KeyError for an unknown lesson; an unreadable, crashing or hanging submission still yields
    a report.
    """
    lesson = registry.course().lesson(lesson_id)
    path = Path(submission) if submission is not None else lesson.notebook()
    lesson, selected = with_timeout(lesson, select(lesson, public_only=public_only, names=checks), timeout_s)
    with isolated_runner(lesson, path) as runner:
        return Report(lesson.id, list(run_checks(selected, runner)))
