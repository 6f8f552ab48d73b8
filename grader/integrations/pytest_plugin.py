"""`pytest grader --submission PATH [--lesson lessonN]`: the hidden grader as a pytest run.

One test item per (check, device) from course.yml, public and hidden, e.g.
`lesson3::Merge::no_tiled_intermediate[cpu]`, marked with the lesson, the exercise and the visibility.
The pytest process is the judge; the submission runs in the same isolated child as `course grade`
(grader.engine.grading.isolated_runner), and each item is `grader.engine.grading.run_check`: no second
implementation. Failures show the student-facing message only, never a traceback into the checks.

Loaded in every pytest run through the `pytest11` entry point, so this module imports nothing heavy:
torch is imported only when a grading item runs.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from grader.engine import registry

GRADER_DIR = registry.ROOT / "grader"
_RESULTS = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "course grader (`pytest grader`)")
    group.addoption("--submission", metavar="PATH", type=Path, default=None,
                    help="notebook (.ipynb) or .py to grade with `pytest grader`. Default: the student's "
                         "notebooks, exercises/LESSON/LESSON.ipynb, for every lesson selected.")
    group.addoption("--lesson", metavar="LESSON", default=None,
                    help="lesson to grade (e.g. lesson3). Default: inferred from the submission's file "
                         "name, or every lesson with exercises when no --submission is given.")
    group.addoption("--grader-json", metavar="FILE", type=Path, default=None,
                    help="write the grading report as JSON, as `course grade --json` does (a list of "
                         "reports when several lessons are graded).")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_RESULTS] = {}
    if config.getoption("submission") is not None or config.getoption("lesson") is not None:
        _lessons(config)  # a bad --submission/--lesson is a usage error before anything is collected
    config.addinivalue_line("markers", "public: a check students can run themselves")
    config.addinivalue_line("markers", "hidden: a check only the grader runs")
    config.addinivalue_line("markers", "cpu: a check row on the CPU")
    config.addinivalue_line("markers", "cuda: a check row on CUDA (skipped without a GPU)")
    with contextlib.suppress(registry.RegistryError):  # unverified: do not import the checks (torch) here
        for lesson in registry.load(verify_implementations=False).lessons:
            config.addinivalue_line("markers", f"{lesson.id}: checks of {lesson.id} ({lesson.title})")
            for exercise in lesson.exercises:
                config.addinivalue_line("markers", f"{exercise.name}: checks of {lesson.id}'s {exercise.name}")


def pytest_collect_directory(path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if path.resolve() == GRADER_DIR:
        return GraderDirectory.from_parent(parent, path=path)
    return None


def _lessons(config: pytest.Config) -> list[tuple[registry.LessonSpec, Path]]:
    course = registry.course()
    submission: Path | None = config.getoption("submission")
    lesson_id: str | None = config.getoption("lesson")
    if lesson_id is None and submission is not None:
        lesson_id = submission.stem if submission.stem in {x.id for x in course.lessons} else None
        if lesson_id is None:
            raise pytest.UsageError(f"cannot tell which lesson {submission} answers: pass --lesson lessonN")
    if lesson_id is not None:
        try:
            lesson = course.lesson(lesson_id)
        except KeyError as exc:
            raise pytest.UsageError(exc.args[0]) from None
        return [(lesson, submission or lesson.notebook())]
    return [(lesson, lesson.notebook()) for lesson in course.lessons if lesson.exercises]


class GraderDirectory(pytest.Directory):
    """Stands for grader/ on the command line: collects checks from course.yml, not Python files."""

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        return [LessonCollector.from_parent(self, name=lesson.id, nodeid=lesson.id, lesson=lesson,
                                            submission=path)
                for lesson, path in _lessons(self.config)]


class LessonCollector(pytest.Collector):
    def __init__(self, *, lesson: registry.LessonSpec, submission: Path, **kwargs: Any):
        super().__init__(**kwargs)
        self.lesson = lesson
        self.submission = submission
        self.runner: Any = None
        self.add_marker(lesson.id)

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        return [ExerciseCollector.from_parent(self, name=exercise.name, exercise=exercise)
                for exercise in self.lesson.exercises]

    def get_runner(self) -> Any:
        """One isolated child per lesson for the whole session (restarted by the runner after faults)."""
        if self.runner is None:
            from grader.engine.grading import isolated_runner

            self.runner = isolated_runner(self.lesson, self.submission)
            self.session.stash.setdefault(_RUNNERS, []).append(self.runner)
        return self.runner


_RUNNERS = pytest.StashKey[list]()
_SANDBOX = pytest.StashKey[dict]()


class ExerciseCollector(pytest.Collector):
    def __init__(self, *, exercise: registry.ExerciseSpec, **kwargs: Any):
        super().__init__(**kwargs)
        self.exercise = exercise
        self.add_marker(exercise.name)

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        return [CheckItem.from_parent(self, name=f"{spec.name}[{device}]", spec=spec, device=device)
                for spec in self.exercise.checks for device in spec.devices]


class CheckFailed(Exception):
    """A check did not pass; its message is what the student sees."""


class CheckItem(pytest.Item):
    def __init__(self, *, spec: registry.CheckSpec, device: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.spec = spec
        self.device = device
        for marker in ("public" if spec.public else "hidden", device):
            self.add_marker(marker)

    def runtest(self) -> None:
        from grader.engine.grading import run_check

        lesson: LessonCollector = self.parent.parent  # type: ignore[assignment]
        runner = lesson.get_runner()
        result = run_check(self.spec, self.device, runner)
        self.config.stash[_RESULTS].setdefault(self.spec.lesson, []).append(result)
        if getattr(runner, "sandbox", None):
            self.config.stash.setdefault(_SANDBOX, {})[self.spec.lesson] = runner.sandbox
        if result.status == "skipped":
            pytest.skip(result.message)
        if result.status != "passed":
            raise CheckFailed(f"{result.status}: {result.message}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        return f"the grader could not run this check: {excinfo.typename}: {excinfo.value}"

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return registry.COURSE_FILE, None, f"{self.spec.lesson}::{self.spec.exercise}::{self.name}"


def pytest_sessionfinish(session: pytest.Session) -> None:
    for runner in session.stash.get(_RUNNERS, []):
        runner.__exit__(None, None, None)
    path: Path | None = session.config.getoption("grader_json", None)
    results = session.config.stash.get(_RESULTS, {})
    if path is None or not results:
        return
    import json

    from grader.engine.report import Report

    sandboxes = session.config.stash.get(_SANDBOX, {})
    reports = [Report(lesson, rows, sandbox=sandboxes.get(lesson, "")) for lesson, rows in results.items()]
    if len(reports) == 1:
        reports[0].write_json(path)
    else:
        path.write_text(json.dumps([r.to_json() for r in reports], indent=2) + "\n")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    results = config.stash.get(_RESULTS, {})
    if not results:
        return
    from grader.engine.report import Report

    terminalreporter.section("course grader: points")
    for lesson, rows in results.items():
        report = Report(lesson, rows)
        for exercise, (got, out_of) in report.by_exercise().items():
            terminalreporter.write_line(f"{lesson} {exercise}: {got:g} / {out_of:g}")
        terminalreporter.write_line(f"{lesson} total: {report.score:g} / {report.max_score:g}")
        sandbox = config.stash.get(_SANDBOX, {}).get(lesson)
        if sandbox:
            terminalreporter.write_line(f"{lesson} sandbox: {sandbox}")
