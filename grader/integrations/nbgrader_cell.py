"""nbgrader autograder test cells: what their hidden part calls, and how a report becomes a cell's grade.

A lesson's self-check cell (`check(Merge)`) doubles as the exercise's test cell. Its hidden part only
imports and calls the grader:

    ### BEGIN HIDDEN TESTS
    from grader.integrations.nbgrader_cell import grade_cell

    grade_cell("lesson3", "Merge")
    ### END HIDDEN TESTS

Under `nbgrader autograde` the course's pipeline (grader.integrations.nbgrader_pipeline.CourseExecute) does not send
this cell to the notebook's kernel, where the student's code has run and could have replaced the grader:
it recognizes the call and answers it from a report that `grader.engine.grading.grade` made outside the kernel.
Run in a kernel anyway (`nbgrader validate`, or a pipeline without CourseExecute), `grade_cell` grades the
notebook file next to it from the kernel, once per file content.

A cell is worth one device's worth of its exercises' points (course.yml counts each check once). Its
grade is that maximum times the fraction of judged points earned; CUDA rows skipped without a GPU are
worth 0 of 0, so on a CPU-only machine the cell earns exactly the points `course grade` gives.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from grader.engine.report import Report

BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
CALL = "grade_cell"
_MARK = {"passed": "PASS", "failed": "FAIL", "error": "FAIL", "skipped": "SKIP"}


def hidden_part(lesson: str, exercises: list[str]) -> str:
    """The hidden region appended to a test cell: import the grader and call it, nothing else."""
    args = ", ".join(json.dumps(x) for x in [lesson, *exercises])
    return f"{BEGIN_HIDDEN}\nfrom grader.integrations.nbgrader_cell import {CALL}\n\n{CALL}({args})\n{END_HIDDEN}"


def parse_call(source: str) -> tuple[str, tuple[str, ...]] | None:
    """(lesson, exercises) of the `grade_cell("lesson3", "Merge")` call in a cell's source, or None."""
    if CALL not in source:
        return None
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if name != CALL or not node.args or node.keywords:
            continue
        if all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args):
            lesson, *exercises = (a.value for a in node.args)
            return lesson, tuple(exercises)
    return None


def is_test_cell(cell: dict[str, Any]) -> bool:
    """An nbgrader test (grade) cell holding our call: the grader's, never part of the student's answer."""
    meta = cell.get("metadata", {}) if isinstance(cell.get("metadata"), dict) else {}
    grade = isinstance(meta.get("nbgrader"), dict) and meta["nbgrader"].get("grade") is True
    return cell.get("cell_type") == "code" and grade and parse_call(_source(cell)) is not None


def gradable_copy(nb: dict[str, Any], folder: Path | str) -> Path:
    """Write `nb` with its test cells emptied (same cell numbers, so messages name the student's cells)."""
    nb = json.loads(json.dumps(nb))
    cells = nb.get("cells", []) if isinstance(nb, dict) else []
    for cell in cells if isinstance(cells, list) else []:
        if isinstance(cell, dict) and is_test_cell(cell):
            cell["source"] = ""
    handle, name = tempfile.mkstemp(prefix="graded-", suffix=".ipynb", dir=folder)
    with open(handle, "w", encoding="utf-8") as out:
        json.dump(nb, out)
    return Path(name)


@dataclasses.dataclass(frozen=True)
class CellGrade:
    """What one test cell shows and earns."""

    text: str
    points: float
    max_points: float


def cell_grade(report: Report, exercises: tuple[str, ...], max_points: float, notes: list[str] = ()) -> CellGrade:
    """One test cell's text and points from a lesson report: `max_points` times the judged fraction earned."""
    rows = [r for r in report.results if r.exercise in exercises]
    earned = sum(r.points for r in rows)
    judged = sum(r.max_points for r in rows)
    if judged == max_points:
        points = earned
    elif judged > 0:
        points = round(max_points * earned / judged, 6)
    else:
        points = 0.0
    points = min(max(points, 0.0), max_points)
    head = f"{' + '.join(exercises)}: {_num(points)} / {_num(max_points)} points"
    if not rows:
        head += " (course.yml has no checks for it: regenerate the assignment)"
    elif judged == 0:
        head += " (no check could be judged on this machine)"
    elif judged != max_points:
        head += f" ({_num(earned)} of {_num(judged)} check points, scaled to the cell's {_num(max_points)})"
    lines = [head]
    for r in rows:
        if r.status != "skipped":
            lines.append(f"[{_MARK[r.status]}] {r.exercise}.{r.check} ({r.device}) "
                         f"{_num(r.points)}/{_num(r.max_points)}: {r.message}")
    skipped = [r for r in rows if r.status == "skipped"]
    if skipped:
        lines.append(f"[SKIP] {len(skipped)} checks: {'; '.join(sorted({r.message for r in skipped}))}")
    lines += [f"Note: {note}" for note in notes]
    return CellGrade("\n".join(lines), points, max_points)


def exercise_points(lesson_id: str) -> dict[str, float]:
    """Each exercise's cell maximum: its checks' points, each check counted once (one device's worth)."""
    from grader.engine.registry import course

    return {e.name: sum(c.points for c in e.checks) for e in course().lesson(lesson_id).exercises}


def _num(x: float) -> str:
    return f"{x:g}"


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


# -- the call itself, when a kernel runs it ----------------------------------------------------------------
_REPORTS: dict[tuple[str, str], Report] = {}


def grade_cell(lesson: str, *exercises: str) -> float | None:
    """Grade `exercises` of `lesson` in the notebook file next to this kernel; print the checks, return points.

    Outside a notebook kernel (e.g. when the grader's child runs a copy of this cell) it does nothing.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    if get_ipython() is None:
        return None
    path = Path.cwd() / f"{lesson}.ipynb"
    report = _report(lesson, path)
    result = cell_grade(report, exercises, sum(exercise_points(lesson)[x] for x in exercises),
                        ["graded from inside the notebook's kernel (under `nbgrader autograde` with the "
                         "course's nbgrader_config.py, grading happens outside the kernel)"])
    print(result.text)
    return result.points


def _report(lesson: str, path: Path) -> Report:
    """The report for the file's current content, computed once per kernel and content."""
    from grader.engine.grading import grade

    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
    key = (lesson, digest)
    if key not in _REPORTS:
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            _REPORTS[key] = grade(lesson, path)  # rows that say why the file cannot be read
        else:
            with tempfile.TemporaryDirectory(prefix="grade-cell-") as folder:
                _REPORTS[key] = grade(lesson, gradable_copy(nb, folder))
    return _REPORTS[key]
