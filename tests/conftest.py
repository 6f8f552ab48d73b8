"""Shared fixtures: reference code, mutant submissions and a per-session cache of grading reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.grading import grade
from grader.mutants import compose
from grader.registry import course
from grader.report import Report


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The project's own tests treat warnings as errors (students' self-checks do not)."""
    for item in items:
        item.add_marker(pytest.mark.filterwarnings("error"))


class Graded:
    """Grades each (lesson, submission) once per test session; grading runs real child processes."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.cache: dict[tuple, Report] = {}

    def __call__(self, lesson: str, name: str, *, timeout_s: float | None = None,
                 checks: tuple[str, ...] | None = None) -> Report:
        key = (lesson, name, timeout_s, checks)
        if key not in self.cache:
            if name == "reference":
                path = course().lesson(lesson).notebook("solutions")
            elif name == "stub":
                path = course().lesson(lesson).notebook("exercises")
            else:
                path = compose(lesson, name, self.folder)
            self.cache[key] = grade(lesson, path, timeout_s=timeout_s, checks=checks)
        return self.cache[key]


@pytest.fixture(scope="session")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    return Graded(tmp_path_factory.mktemp("submissions"))


def rows(report: Report, exercise: str, check: str, device: str = "cpu"):
    return [r for r in report.results if (r.exercise, r.check, r.device) == (exercise, check, device)]


def row(report: Report, exercise: str, check: str, device: str = "cpu"):
    (found,) = rows(report, exercise, check, device)
    return found

