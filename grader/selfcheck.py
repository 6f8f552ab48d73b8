"""Self-checks: the public checks, run on the student's own objects or saved notebook.

In a notebook:      `from grader.selfcheck import check; check(Merge)`
From the terminal:  `pytest exercises/lesson3` (through the generated test_lesson3.py)
Both run the same check functions as `course grade`, in-process, with the same data round trip.

`check()` prints one line per public check, then raises `ChecksFailed` (one line, no traceback) when any
failed, so that the cell shows as failed: nbgrader's Validate and `nbgrader validate` count a test cell
as failed only when it raises. The generated notebooks tag these cells `raises-exception`, so that
JupyterLab's Run All (and nbclient) go on past them. Results are kept in the local progress file
(grader.student.progress) for `course status`.
"""

from __future__ import annotations

import functools
import types
import warnings
from pathlib import Path
from typing import Any

from grader.engine import registry
from grader.engine.grading import run_check, select
from grader.engine.report import NO_GPU_LINE, CheckResult, no_gpu_row
from grader.engine.runners import InProcessRunner
from grader.engine.submission import Submission, read_code, run_cells

_MARK = {"passed": "PASS", "failed": "FAIL", "error": "FAIL", "skipped": "SKIP"}


def run_public(obj: Any, *, lesson: str | None = None) -> list[CheckResult]:
    """Run the public checks of the exercise named like `obj` (a class or function) on `obj` itself."""
    name = getattr(obj, "__name__", None)
    if name is None:
        raise TypeError(f"check() needs the class or function itself (e.g. check(Merge)), got {obj!r}")
    course = registry.course()
    exercise = course.find_exercise(name, lesson)
    module = types.ModuleType("selfcheck")
    module.__dict__[name] = obj
    runner = InProcessRunner(Submission(module))
    return [run_check(spec, device, runner)
            for spec in select(course.lesson(exercise.lesson), public_only=True, exercise=name)
            for device in spec.devices]


class ChecksFailed(AssertionError):
    """A public check failed: raised by `check()` after its report, shown by IPython as one line."""

    def _render_traceback_(self) -> list[str]:  # IPython shows these lines instead of a traceback
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]


def check(obj: Any, *, lesson: str | None = None) -> None:
    """Print a pass/fail line per public check of `obj`'s exercise, with what to fix; raise ChecksFailed
    (one line) when any failed, so that the cell, nbgrader's Validate and `nbgrader validate` say so.

    CUDA rows skipped for want of a GPU are one line, as in `course grade`'s report. Warnings raised while
    checking are printed on stdout (nbgrader fails a test cell that writes to stderr).
    """
    with warnings.catch_warnings(record=True) as caught:
        results = run_public(obj, lesson=lesson)
    for r in results:
        if not no_gpu_row(r):
            print(f"[{_MARK[r.status]}] {r.exercise}.{r.check} ({r.device}): {r.message}")
    if any(no_gpu_row(r) for r in results):
        print(NO_GPU_LINE)
    for text in list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))[:5]:
        print(f"warning while checking: {' '.join(text.split())}")
    passed = sum(r.status == "passed" for r in results)
    judged = sum(r.status != "skipped" for r in results)
    print(f"{passed}/{judged} public checks passed." + (" Hidden checks run when you submit."
                                                        if passed == judged else ""))
    if results:
        _remember(results, lesson)
    failed = list(dict.fromkeys(r.check for r in results if r.status in ("failed", "error")))
    if failed:
        exercise = results[0].exercise
        raise ChecksFailed(f"{exercise}: {len(failed)} of {len({r.check for r in results})} public checks failed "
                           f"({', '.join(failed)}); what to fix is printed above")


def _remember(results: list[CheckResult], lesson: str | None) -> None:
    """Keep the outcome for `course status`; a progress file that cannot be written never spoils the check."""
    from grader.student import progress

    try:
        progress.record_public(registry.course().find_exercise(results[0].exercise, lesson).lesson, results,
                               by="check")
    except (OSError, ValueError):
        pass


def public_tests(lesson_id: str, test_file: str) -> Any:
    """A parametrized pytest test: one item per public check and device, on the saved notebook."""
    import pytest

    lesson = registry.course().lesson(lesson_id)
    notebook = Path(test_file).with_name(f"{lesson_id}.ipynb")
    cases = [(spec, device) for spec in select(lesson, public_only=True) for device in spec.devices]

    @functools.lru_cache(maxsize=1)
    def runner() -> InProcessRunner:
        submission = run_cells(read_code(notebook), cell_timeout_s=lesson.load_timeout_s, name=lesson_id)
        return InProcessRunner(submission)

    @pytest.mark.parametrize("spec, device", cases, ids=[f"{s.exercise}::{s.name}[{d}]" for s, d in cases])
    def test_public(spec: registry.CheckSpec, device: str) -> None:
        result = run_check(spec, device, runner())
        if result.status == "skipped":
            pytest.skip(result.message)
        if result.status != "passed":
            pytest.fail(f"{spec.exercise}.{spec.name} [{device}] {result.status}: {result.message}",
                        pytrace=False)

    return test_public
