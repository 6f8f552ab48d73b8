"""`course hint LESSON EXERCISE`: the exercise's staged hints from course.yml, one more per call.

How many were shown is kept in the progress file. `--solution` shows the reference solution once the
exercise passes its public checks, and only where solutions/ exists (the full course, not a student bundle).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from grader.engine.registry import ExerciseSpec, LessonSpec
from grader.student import notebooks, progress

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"  # grader.authoring.stubs's (it imports nbformat: 1 s)


@dataclasses.dataclass(frozen=True)
class Hints:
    shown: tuple[str, ...]  # every hint shown so far, the new one last
    total: int
    new: bool  # False when every hint had been shown already


def next_hint(exercise: ExerciseSpec) -> Hints:
    """Reveal one more hint (if any is left) and record it."""
    total = len(exercise.hints)

    def change(data: dict[str, Any]) -> int:
        before = progress.hints_shown(data, exercise.lesson, exercise.name)
        count = min(before + 1, total)
        if count:
            data["lessons"].setdefault(exercise.lesson, {}).setdefault("exercises", {}).setdefault(
                exercise.name, {})["hints"] = count
        return before

    try:
        before = progress.update(change)
    except OSError:  # not recorded: still show the next one
        before = progress.hints_shown(progress.load(), exercise.lesson, exercise.name)
    count = min(before + 1, total)
    return Hints(exercise.hints[:count], total, new=before < total)


def public_passed(exercise: ExerciseSpec) -> bool:
    """The last recorded public checks of the exercise all passed."""
    public = progress.exercise_record(progress.load(), exercise.lesson, exercise.name).get("public")
    return isinstance(public, dict) and public.get("total", 0) > 0 and public.get("failing") == []


def check_now(lesson: LessonSpec, exercise: ExerciseSpec) -> list[str]:
    """Run the lesson's public checks on the saved notebook (imports torch), record them, return the
    exercise's failing checks (empty: it passes)."""
    from grader.engine.grading import grade

    report = grade(lesson.id, lesson.notebook(), public_only=True)
    try:
        progress.record_report(report, public_only=True, by="course hint --solution")
    except OSError:
        pass
    outcome = progress.summarize(report.results).get(exercise.name, {"failing": ["(no check ran)"]})
    return outcome["failing"]


def reference(lesson: LessonSpec, exercise: ExerciseSpec) -> str | None:
    """The reference solution's cell, markers removed; None where solutions/ is not part of this copy."""
    path = lesson.notebook("solutions")
    if not path.exists():
        return None
    nb = notebooks.read(path)
    if nb is None:
        return None
    cells = notebooks.exercise_cells(nb, exercise.name)
    text = "\n\n".join(notebooks.source(nb["cells"][i]) for i in cells)
    return "\n".join(line for line in text.splitlines() if line.strip() not in (BEGIN, END)) or None
