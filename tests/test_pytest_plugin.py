"""Does `pytest grader --submission PATH` grade with the same checks, points and statuses as `course grade`?"""

from __future__ import annotations

import json

import pytest

from grader.engine.registry import course
from grader.integrations.pytest_plugin import GRADER_DIR
from tests.mutants import compose

pytest_plugins = ["pytester"]
LESSON = "lesson3"


def _rows(report: dict) -> list[tuple]:
    return sorted((c["exercise"], c["check"], c["device"], c["points"], c["max_points"], c["status"])
                  for c in report["checks"])


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(str(GRADER_DIR), "-p", "no:cacheprovider", *args, timeout=600)


@pytest.fixture()
def reference() -> str:
    return str(course().lesson(LESSON).notebook("solutions"))


def test_reference_passes_every_item_with_full_points(pytester, reference, graded):
    out = pytester.path / "report.json"
    result = _run(pytester, "--submission", reference, "--grader-json", str(out), "-v")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*lesson3::Merge::no_tiled_intermediate[[]cpu[]] PASSED*",
                                 "*course grader: points*", "lesson3 Merge: 14 / 14", "lesson3 total: 19 / 19"])
    report = json.loads(out.read_text())
    assert _rows(report) == _rows(graded(LESSON, "reference").to_json())


def test_mutant_fails_the_item_named_for_its_mistake(pytester, graded, tmp_path):
    path = compose(LESSON, "repeat_cat.py", tmp_path)
    out = pytester.path / "report.json"
    result = _run(pytester, "--submission", str(path), "--lesson", LESSON, "--grader-json", str(out))
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*lesson3::Merge::no_tiled_intermediate[[]cpu[]]*",
                                 "failed: Merge calls a tiling op*repeat*"])
    assert "Traceback" not in result.stdout.str() and "def merge_" not in result.stdout.str()
    assert "lesson3 total: 19 / 19" not in result.stdout.str()
    assert _rows(json.loads(out.read_text())) == _rows(graded(LESSON, "repeat_cat.py").to_json())


def test_marker_and_keyword_selection(pytester, reference):
    result = _run(pytester, "--submission", reference, "-m", "total_scores and public and cpu", "-q")
    result.assert_outcomes(passed=2)
    result = _run(pytester, "--submission", reference, "-k", "seed_example", "-q")
    result.assert_outcomes(passed=1, skipped=1)


def test_a_submission_for_no_known_lesson_is_a_usage_error(pytester, tmp_path):
    path = tmp_path / "answers.py"
    path.write_text("x = 1\n")
    result = _run(pytester, "--submission", str(path))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*pass --lesson lessonN*"])


def test_help_documents_the_default_submission(pytester):
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*--submission=PATH*", "*exercises/LESSON/LESSON.ipynb*"])
