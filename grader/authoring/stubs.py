"""Generate the student's notebook from the authored one: clear `### BEGIN/END SOLUTION` regions.

The markers are nbgrader's, so the same solutions/ notebooks feed nbgrader unchanged. Each cleared
region becomes `raise NotImplementedError("lessonN: <where>")`, naming the function to fill in.

Each self-check cell (tagged `selfcheck`, `check(Merge)`) becomes what nbgrader calls a test cell
(`grade: true`, the exercise's points, as `course nbgrader init` makes it), so that Validate and
`nbgrader validate` judge it: it fails when `check()` raises, i.e. when a public check fails. It is also
tagged `raises-exception`, so that JupyterLab's Run All (and nbclient) go on past a failing check.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

from grader.engine.registry import ROOT, LessonSpec

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
_DEF = re.compile(r"^(\s*)(?:async\s+def|def|class)\s+([A-Za-z_]\w*)")


class MarkerError(ValueError):
    """Unbalanced or nested solution markers; the message names the cell and line."""


def clear_solutions(source: str, lesson: str, where: str = "code") -> str:
    """Replace each solution region with a stub that raises NotImplementedError naming its function."""
    out: list[str] = []
    lines = source.splitlines()
    begin: int | None = None
    for number, line in enumerate(lines, start=1):
        marker = line.strip()
        if marker == BEGIN:
            if begin is not None:
                raise MarkerError(f"{where}, line {number}: {BEGIN} inside the region opened at line {begin}")
            begin = number
            indent = line[: len(line) - len(line.lstrip())]
            name = _enclosing(lines[: number - 1], len(indent)) or "this cell"
            out.append(f"{indent}# YOUR CODE HERE")
            out.append(f'{indent}raise NotImplementedError("{lesson}: {name}")')
        elif marker == END:
            if begin is None:
                raise MarkerError(f"{where}, line {number}: {END} without a {BEGIN}")
            begin = None
        elif begin is None:
            out.append(line)
    if begin is not None:
        raise MarkerError(f"{where}, line {begin}: {BEGIN} is never closed by {END}")
    return "\n".join(out)


def _enclosing(previous: list[str], indent: int) -> str:
    """Qualified name of the def/class around a line indented by `indent` (e.g. "Merge.forward")."""
    names: list[str] = []
    for line in reversed(previous):
        match = _DEF.match(line)
        if match and len(match.group(1)) < indent:
            names.append(match.group(2))
            indent = len(match.group(1))
            if indent == 0:
                break
    return ".".join(reversed(names))


def has_solution(source: str) -> bool:
    return any(line.strip() == BEGIN for line in source.splitlines())


def student_notebook(lesson: LessonSpec) -> nbformat.NotebookNode:
    """The exercises/ notebook for a lesson: solutions cleared, outputs dropped."""
    path = lesson.notebook("solutions")
    nb = nbformat.read(path, as_version=4)
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        cell.source = clear_solutions(cell.source, lesson.id, f"{path.name} cell {number}")
        cell.outputs = []
        cell.execution_count = None
        mark_test_cell(cell, lesson)
    return nb


SELFCHECK_TAG = "selfcheck"
RAISES_TAG = "raises-exception"  # Jupyter's convention: Run All (JupyterLab, nbclient) goes on past the cell


def checked_exercises(source: str, lesson: LessonSpec) -> list[str]:
    """The lesson's exercises named by `check(Name)` calls in a cell's source."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    known = {e.name for e in lesson.exercises}
    names = [node.args[0].id for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "check"
             and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id in known]
    return list(dict.fromkeys(names))


def mark_test_cell(cell: nbformat.NotebookNode, lesson: LessonSpec) -> None:
    """A self-check cell becomes the exercises' nbgrader test cell, worth their points, tagged raises-exception."""
    tags = cell.metadata.get("tags", [])
    names = checked_exercises(cell.source, lesson) if SELFCHECK_TAG in tags else []
    if not names:
        return
    if RAISES_TAG not in tags:
        cell.metadata["tags"] = [*tags, RAISES_TAG]
    points = sum(c.points for e in lesson.exercises if e.name in names for c in e.checks)
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "test_" + "_".join(names), "locked": True,
                                 "points": points, "schema_version": 3, "solution": False, "task": False}


def selfcheck_test(lesson: LessonSpec) -> str:
    return (f'"""Self-check for {lesson.id}: the public checks, run on the code saved in {lesson.id}.ipynb.\n\n'
            f"Run from the repository root: pytest exercises/{lesson.id}\n"
            f'Generated by `course build` from course.yml; do not edit."""\n\n'
            f"from grader.selfcheck import public_tests\n\n"
            f'test_public = public_tests("{lesson.id}", __file__)\n')


def generated_files(lesson: LessonSpec) -> dict[Path, str]:
    folder = ROOT / "exercises" / lesson.id
    return {folder / f"{lesson.id}.ipynb": nbformat.writes(student_notebook(lesson)) + "\n",
            folder / f"test_{lesson.id}.py": selfcheck_test(lesson)}


def build(lessons: list[LessonSpec], *, check_only: bool = False) -> list[Path]:
    """Write exercises/ from solutions/; with check_only, return the files that are out of date."""
    stale = []
    for lesson in lessons:
        for path, text in generated_files(lesson).items():
            if not path.exists() or path.read_text() != text:
                stale.append(path)
                if not check_only:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(text)
    return stale
