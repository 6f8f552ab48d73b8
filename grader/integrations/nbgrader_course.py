"""`course nbgrader init DIR`: a ready nbgrader course directory, built from course.yml and solutions/.

It writes
- DIR/nbgrader_config.py: course id, per-lesson kernel timeouts, the stderr ignore pattern, and the
  course's pipeline steps (grader.integrations.nbgrader_pipeline) in nbgrader's preprocessor lists;
- DIR/source/LESSON/LESSON.ipynb for every lesson with exercises, from solutions/LESSON/LESSON.ipynb:
  solution cells stay editable, every other cell is locked (read-only), and each self-check cell
  (`check(Merge)`) becomes the exercise's autograder test cell, its hidden part calling the grader;
- the lessons as assignments in DIR/gradebook.db.
Re-running it rewrites the generated files and keeps the gradebook, releases and submissions.
"""

from __future__ import annotations

import ast
import contextlib
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import nbformat

from grader.authoring.stubs import RAISES_TAG, has_solution
from grader.engine import registry
from grader.engine.registry import LessonSpec
from grader.integrations.nbgrader_cell import exercise_points, hidden_part

SCHEMA = 3
# Python warnings ("...py:12: UserWarning: ...") and c10's C++ ones ("[W1123 ...] Warning: ..."). nbgrader
# zeroes a test cell with any stderr output unless this pattern matches it.
WARNING_PATTERN = r"(?m)(^|\s)(\w*Warning: |\[W[^\]]*\] Warning)"


class CourseError(ValueError):
    """A lesson's notebook cannot become an nbgrader assignment; the message says why."""


def init(directory: Path | str) -> list[Path]:
    """Write the course directory (config, source notebooks) and register the assignments."""
    root = Path(directory).resolve()
    course = registry.course()
    lessons = [lesson for lesson in course.lessons if lesson.exercises]
    written = [_write(root / "nbgrader_config.py", config_text(course, lessons))]
    check_config(written[0])
    for lesson in lessons:
        nb = source_notebook(lesson)
        written.append(_write(root / "source" / lesson.id / f"{lesson.id}.ipynb", nbformat.writes(nb) + "\n"))
    register(root, course.name, [lesson.id for lesson in lessons])
    return written


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- the source notebook -------------------------------------------------------------------------------
def source_notebook(lesson: LessonSpec) -> nbformat.NotebookNode:
    """The nbgrader source of a lesson: solutions, locked lesson text and demos, one test cell per check call."""
    path = lesson.notebook("solutions")
    nb = nbformat.read(path, as_version=4)
    points = exercise_points(lesson.id)
    tested: list[str] = []
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        label = cell.get("id") or f"cell{number:02d}"
        checked = _checked_exercises(cell, points)
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and (has_solution(cell.source) or meta.get("solution")):
            cell.metadata["nbgrader"] = _meta(grade_id=meta.get("grade_id") or f"{lesson.id}_answer_{label}",
                                              solution=True, locked=False)
        elif checked:
            tested += checked
            visible = "\n".join(cell.source.splitlines())  # as exercises/ has it (grader.authoring.stubs)
            cell.source = visible + "\n" + hidden_part(lesson.id, checked)
            cell.metadata["nbgrader"] = _meta(grade_id="test_" + "_".join(checked), grade=True, locked=True,
                                              points=sum(points[x] for x in checked))
            if RAISES_TAG not in cell.metadata.get("tags", []):  # check() raises on a failure: Run All goes on
                cell.metadata["tags"] = [*cell.metadata.get("tags", []), RAISES_TAG]
        else:
            kind = "text" if cell.cell_type != "code" else "code"
            cell.metadata["nbgrader"] = _meta(grade_id=f"{lesson.id}_{kind}_{label}", locked=True)
    missing = [name for name in points if name not in tested]
    if missing:
        raise CourseError(f"{path}: no self-check cell calls check() on {', '.join(missing)}. Each exercise "
                          "needs one (tagged `selfcheck`, e.g. `check(Merge)`): it becomes the exercise's "
                          "nbgrader test cell, so the student notebook stays the one in exercises/.")
    duplicated = sorted({name for name in tested if tested.count(name) > 1})
    if duplicated:
        raise CourseError(f"{path}: check() is called on {', '.join(duplicated)} in more than one self-check "
                          "cell; nbgrader would count its points twice. Keep one per exercise.")
    return nb


def _checked_exercises(cell: nbformat.NotebookNode, points: dict[str, float]) -> list[str]:
    """Exercises named by `check(Name)` calls in a code cell tagged `selfcheck`."""
    if cell.cell_type != "code" or "selfcheck" not in cell.metadata.get("tags", []):
        return []
    try:
        tree = ast.parse(cell.source)
    except SyntaxError:
        return []
    names = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "check"
                and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id in points):
            names.append(node.args[0].id)
    return list(dict.fromkeys(names))


def _meta(*, grade_id: str, grade: bool = False, solution: bool = False, locked: bool,
          points: float | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": SCHEMA,
            "solution": solution, "task": False}
    if points is not None:
        meta["points"] = points
    return meta


# -- nbgrader_config.py --------------------------------------------------------------------------------
def config_text(course: registry.Course, lessons: list[LessonSpec]) -> str:
    """The config file. Pipelines are nbgrader's installed defaults with the course's steps swapped in."""
    from nbgrader.converters import Autograde, GenerateAssignment, GenerateFeedback
    from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions, DeduplicateIds, Execute

    from grader.integrations.nbgrader_pipeline import CourseClearSolutions, CourseDeduplicateIds, CourseExecute

    def steps(converter, name, swap=None, after=None):
        found = list(converter.class_traits()[name].default())
        found = [swap[1] if swap and step is swap[0] else step for step in found]
        if after:
            found.insert(found.index(after[0]) + 1, after[1])
        return found

    pipelines = {
        "GenerateAssignment.preprocessors": steps(GenerateAssignment, "preprocessors",
                                                  swap=(ClearSolutions, CourseClearSolutions)),
        "Autograde.sanitize_preprocessors": steps(Autograde, "sanitize_preprocessors",
                                                  swap=(DeduplicateIds, CourseDeduplicateIds)),
        "Autograde.autograde_preprocessors": steps(Autograde, "autograde_preprocessors",
                                                   swap=(Execute, CourseExecute)),
        "GenerateFeedback.preprocessors": steps(GenerateFeedback, "preprocessors",
                                                after=(GenerateFeedback.class_traits()["preprocessors"].default()[0],
                                                       ClearHiddenTests)),
    }
    imports: dict[str, set[str]] = {}
    for step in (s for chain in pipelines.values() for s in chain):
        module = step.__module__ if step.__module__.startswith("grader.") else step.__module__.rsplit(".", 1)[0]
        imports.setdefault(module, set()).add(step.__name__)
    imports.setdefault("grader.integrations.nbgrader_pipeline", set()).add("report_unreadable")
    ours = imports.pop("grader.integrations.nbgrader_pipeline")
    import_lines = "\n".join(_import_line(m, names) for m, names in sorted(imports.items()))
    course_import = textwrap.indent(_import_line("grader.integrations.nbgrader_pipeline", ours), "    ")
    listed = {key: "[\n" + "".join(f"    {step.__name__},\n" for step in chain) + "]"
              for key, chain in pipelines.items()}
    timeouts = {lesson.id: int(round(lesson.load_timeout_s)) for lesson in lessons}
    return f'''"""nbgrader configuration of the course `{course.name}`, written by `course nbgrader init`.

Generated from course.yml: re-run `course nbgrader init` after changing it (this file is rewritten).
Run nbgrader from this directory, in the course's virtual environment.
"""

import os

{import_lines}

try:
{course_import}
except ImportError as exc:  # nbgrader would log it and go on with its own steps: stop instead
    raise SystemExit(f"nbgrader_config.py: {{exc}}; run nbgrader in the course's virtual environment") from exc

c = get_config()  # noqa: F821
here = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = {course.name!r}
c.CourseDirectory.root = here
c.Exchange.root = os.path.join(here, "exchange")  # for `nbgrader release_assignment` / `collect`

# generate_assignment: nbgrader's steps, with CourseClearSolutions for ClearSolutions: stubs name the
# function to write (`raise NotImplementedError("lesson3: Merge.forward")`), as exercises/ has them.
c.GenerateAssignment.preprocessors = {listed["GenerateAssignment.preprocessors"]}

# autograde, first pass (sanitizing): nbgrader's steps, with CourseDeduplicateIds for DeduplicateIds
# (nbgrader 0.9.6 fails on duplicated cells when add_missing_cells is on; see grader/integrations/nbgrader_pipeline.py).
c.Autograde.sanitize_preprocessors = {listed["Autograde.sanitize_preprocessors"]}
c.OverwriteCells.add_missing_cells = True  # a deleted test cell is put back and graded, not scored 0

# autograde, second pass: nbgrader's steps, with CourseExecute for Execute: the student's cells run in a
# kernel as usual, test cells get the report of grader.engine.grading.grade, computed outside the kernel.
c.Autograde.autograde_preprocessors = {listed["Autograde.autograde_preprocessors"]}
c.Autograde.pre_convert_hook = report_unreadable  # names submissions that are not readable notebooks

# Kernel time limit per cell, per lesson (course.yml's load_timeout_s). Execute.timeout serves plain
# `nbgrader validate`. CourseExecute.grade_timeout_s, when set, overrides course.yml's limits per check
# and per cell, as `course grade --timeout` does.
c.Execute.timeout = {max(timeouts.values(), default=60)}
c.CourseExecute.lesson_timeouts = {timeouts!r}
c.CourseExecute.grade_timeout_s = None

# torch prints warnings on stderr; nbgrader would score a test cell with stderr output 0.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"{WARNING_PATTERN}"

# Feedback shows test cells as students saw them (results and messages, no hidden part).
c.GenerateFeedback.preprocessors = {listed["GenerateFeedback.preprocessors"]}
'''


def _import_line(module: str, names: set[str]) -> str:
    line = f"from {module} import {', '.join(sorted(names))}"
    if len(line) <= 100:
        return line
    return f"from {module} import (\n" + "".join(f"    {name},\n" for name in sorted(names)) + ")"


def check_config(path: Path) -> None:
    """Load the config as nbgrader will: nbgrader logs a config that fails to load and goes on without it."""
    from traitlets.config.loader import PyFileConfigLoader

    try:
        PyFileConfigLoader(path.name, str(path.parent)).load_config()
    except Exception as exc:
        raise CourseError(f"{path} does not load: {type(exc).__name__}: {exc}") from exc


# -- the gradebook -------------------------------------------------------------------------------------
def register(root: Path, course_id: str, assignments: list[str]) -> None:
    """Create DIR/gradebook.db if needed and add each lesson as an assignment (existing ones are kept)."""
    from nbgrader.api import Gradebook

    with _venv_on_path(), Gradebook(f"sqlite:///{root / 'gradebook.db'}", course_id=course_id) as gb:
        for assignment in assignments:
            gb.update_or_create_assignment(assignment)


@contextlib.contextmanager
def _venv_on_path() -> Iterator[None]:
    """nbgrader runs `alembic` from PATH when it creates a gradebook: make it this environment's."""
    old = os.environ.get("PATH", "")
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + old
    try:
        yield
    finally:
        os.environ["PATH"] = old
