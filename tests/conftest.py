"""Shared fixtures: reference code, mutant submissions and a per-session cache of grading reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.engine.grading import grade
from grader.engine.registry import course
from grader.engine.report import Report
from tests.mutants import compose


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The project's own tests treat warnings as errors (students' self-checks do not).

    They run on 2 workers with `--dist loadfile` (pyproject.toml): a module's tests stay on one worker, since
    they share session caches of graded submissions, module fixtures (an nbgrader class) and canary files.
    """
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


def failures(report: Report) -> list[str]:
    return [f"{r.id}: {r.message}" for r in report.results if r.status not in ("passed", "skipped")]


def assert_full_marks(report: Report) -> None:
    assert not failures(report), failures(report)
    assert report.score == report.max_score > 0


def assert_cuda_rows_skipped_without_a_gpu(report: Report) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: CUDA rows are graded for real")
    cuda = [r for r in report.results if r.device == "cuda"]
    assert cuda and all(r.status == "skipped" and r.max_points == 0 for r in cuda)


def assert_stub_earns_zero(report: Report) -> None:
    """Every judged row fails with the stub's NotImplementedError naming the lesson and exercise."""
    assert report.score == 0
    judged = [r for r in report.results if r.status != "skipped"]
    assert judged and all(r.status in ("failed", "error") for r in judged)
    for r in judged:
        assert "NotImplementedError" in r.message and f"{report.lesson}: {r.exercise}" in r.message, r.message


def lesson_basics(lesson: str) -> tuple:
    """The three tests every lesson's module starts with (assign them to module names so pytest collects
    them): the reference earns full marks, CUDA rows are skipped (not passed) without a GPU, the stub
    earns zero with its NotImplementedError messages."""

    def test_reference_earns_full_marks(graded):
        assert_full_marks(graded(lesson, "reference"))

    def test_cuda_rows_are_skipped_not_passed_without_a_gpu(graded):
        assert_cuda_rows_skipped_without_a_gpu(graded(lesson, "reference"))

    def test_stub_earns_zero_with_not_implemented_messages(graded):
        assert_stub_earns_zero(graded(lesson, "stub"))

    return (test_reference_earns_full_marks, test_cuda_rows_are_skipped_not_passed_without_a_gpu,
            test_stub_earns_zero_with_not_implemented_messages)
