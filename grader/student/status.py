"""`course status`: every lesson and exercise with its state, a progress bar, and the next thing to do.

States, read without running anything (the notebook as saved, and the progress file):
- not started: the exercise's cell still has a generated stub (`raise NotImplementedError("lesson3: ...")`);
- written, not checked: no stub left, and no check recorded since;
- failing k of n public checks / passing publicly: the last recorded public checks (the notebook's
  `check()`, `course grade`, `course watch` or `course status --check`), with when they ran;
- and per lesson, the last grade (`course grade` on the student's own notebook).
`--check` runs the public checks first (through the grader, as `course grade --public-only` does), for
the lessons with something written; only then is torch imported.
"""

from __future__ import annotations

import dataclasses
import datetime
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader.engine.registry import Course, LessonSpec
from grader.student import notebooks, progress

BAR = 24
MARK = {"passing": "[x]", "failing": "[!]", "unchecked": "[?]", "not started": "[ ]", "missing": "[-]"}


@dataclasses.dataclass
class ExerciseStatus:
    lesson: str
    name: str
    state: str  # one of MARK's keys
    stubs: list[str]
    public: dict[str, Any]
    graded: dict[str, Any]
    hints: int
    hint_total: int
    note: str = ""

    def describe(self) -> str:
        if self.state == "missing":
            return self.note
        if self.state == "not started":
            names = ", ".join(self.stubs[:2]) + (f", +{len(self.stubs) - 2} more" if len(self.stubs) > 2 else "")
            return f"not started (stub: {names})"
        if self.state == "unchecked":
            return "written, not checked yet"
        p = self.public
        text = (f"passing publicly ({p['passed']}/{p['total']})" if self.state == "passing" else
                f"failing {len(p['failing'])} of {p['total']} public checks ({', '.join(p['failing'])})")
        text += f", checked {when(p.get('at'))}"
        if self.graded:
            text += f"; graded {self.graded['points']:g}/{self.graded['max_points']:g}"
        if self.hints:
            text += f"; {self.hints}/{self.hint_total} hints"
        return text


@dataclasses.dataclass
class LessonStatus:
    spec: LessonSpec
    notebook: Path
    exercises: list[ExerciseStatus]
    grade: dict[str, Any]

    @property
    def written(self) -> bool:
        """Something to check: an exercise with no stub left."""
        return any(e.state not in ("not started", "missing") for e in self.exercises)


def collect(course: Course, lesson_ids: list[str] | None = None) -> list[LessonStatus]:
    data = progress.load()
    found = []
    for spec in course.lessons:
        if lesson_ids and spec.id not in lesson_ids:
            continue
        path = spec.notebook()
        nb = notebooks.read(path) if spec.exercises else None
        lesson_record = progress.lesson_record(data, spec.id)
        exercises = [_exercise(spec, e.name, len(e.hints), path, nb, data) for e in spec.exercises]
        grade = lesson_record.get("grade") if isinstance(lesson_record.get("grade"), dict) else {}
        found.append(LessonStatus(spec, path, exercises, grade))
    return found


def _exercise(spec: LessonSpec, name: str, hint_total: int, path: Path, nb: dict | None,
              data: dict[str, Any]) -> ExerciseStatus:
    record = progress.exercise_record(data, spec.id, name)
    public = record.get("public") if _valid_public(record.get("public")) else {}
    graded = record.get("graded") if isinstance(record.get("graded"), dict) else {}
    state = ExerciseStatus(spec.id, name, "missing", [], public, graded, progress.hints_shown(data, spec.id, name),
                           hint_total)
    if nb is None:
        state.note = (f"notebook unreadable ({_rel(path)})" if path.exists() else
                      f"no notebook ({_rel(path)}; `course reset {spec.id}` restores it)")
        return state
    cells = notebooks.exercise_cells(nb, name)
    if not cells:
        state.note = f"its cell is gone (`course reset {spec.id} {name}` restores it)"
        return state
    state.stubs = notebooks.stubs_left("\n".join(notebooks.source(nb["cells"][i]) for i in cells), spec.id)
    if state.stubs:
        state.state = "not started"
    elif not public:
        state.state = "unchecked"
    else:
        state.state = "passing" if not public["failing"] else "failing"
    return state


def _valid_public(p: Any) -> bool:
    return (isinstance(p, dict) and isinstance(p.get("passed"), int) and isinstance(p.get("total"), int)
            and isinstance(p.get("failing"), list) and p["total"] > 0)


def check_lessons(lessons: list[LessonStatus], echo: Callable[[str], None]) -> None:
    """Run the public checks of the lessons with something written, and record them (imports torch)."""
    from grader.engine.grading import grade

    for lesson in lessons:
        if not lesson.written or not lesson.notebook.exists():
            continue
        echo(f"running the public checks of {lesson.spec.id} ...")
        report = grade(lesson.spec.id, lesson.notebook, public_only=True)
        try:
            progress.record_report(report, public_only=True, by="course status --check")
        except OSError as exc:
            echo(f"could not record the results: {exc}")


def next_step(lessons: list[LessonStatus]) -> str:
    for lesson in lessons:
        pending = [e for e in lesson.exercises if e.state != "passing"]
        if pending:
            e = pending[0]
            where = _rel(lesson.notebook)
            if e.state == "missing":
                return f"Next: {lesson.spec.id} {e.name}: {e.note}."
            if e.state == "not started":
                return (f"Next: {lesson.spec.id} {e.name}: write {', '.join(e.stubs)} in {where}, then run the "
                        f"check cell under it (stuck? `course hint {lesson.spec.id} {e.name}`).")
            if e.state == "unchecked":
                return (f"Next: check {lesson.spec.id} {e.name}: run the check cell under it, or "
                        f"`course status --check`.")
            return (f"Next: fix {lesson.spec.id} {e.name} ({', '.join(e.public['failing'])}): the check cell says "
                    f"what to fix; `course watch {lesson.spec.id}` re-checks on every save, "
                    f"`course hint {lesson.spec.id} {e.name}` gives a hint.")
        if lesson.exercises and not lesson.grade:
            return f"Next: `course grade {lesson.spec.id}` (the hidden checks too)."
    return "Every exercise passes its public checks. Grade a lesson again with `course grade LESSON`."


def render(lessons: list[LessonStatus], width: int | None = None) -> list[str]:
    width = width or min(shutil.get_terminal_size((100, 24)).columns, 100)
    exercises = [e for lesson in lessons for e in lesson.exercises]
    done = sum(e.state == "passing" for e in exercises)
    filled = round(BAR * done / len(exercises)) if exercises else 0
    lines = [f"[{'#' * filled}{'.' * (BAR - filled)}] {done}/{len(exercises)} exercises pass their public checks"]
    name_width = max((len(e.name) for e in exercises), default=0)
    indent = " " * (2 + 4 + name_width + 2)
    for lesson in lessons:
        lines.append("")
        head = f"{lesson.spec.id}  {lesson.spec.title}"
        if not lesson.exercises:
            head += "  (no exercises yet)"
        elif lesson.grade:
            grade = lesson.grade
            head += f"  (graded {grade['score']:g}/{grade['max_score']:g}, {when(grade.get('at'))})"
        lines += textwrap.wrap(head, width, subsequent_indent="    ", break_long_words=False) or [head]
        for e in lesson.exercises:
            first = f"  {MARK[e.state]} {e.name:<{name_width}}  "
            lines += textwrap.wrap(e.describe(), width, initial_indent=first, subsequent_indent=indent,
                                   break_long_words=False, break_on_hyphens=False)
    lines.append("")
    lines += textwrap.wrap(next_step(lessons), width, subsequent_indent="  ", break_long_words=False,
                           break_on_hyphens=False)
    return lines


def when(stamp: Any) -> str:
    """"14:02" today, "2025-05-01 14:02" before."""
    try:
        at = datetime.datetime.fromisoformat(str(stamp)).astimezone()
    except ValueError:
        return "at an unknown time"
    today = datetime.datetime.now().astimezone().date()
    return at.strftime("%H:%M" if at.date() == today else "%Y-%m-%d %H:%M")


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
