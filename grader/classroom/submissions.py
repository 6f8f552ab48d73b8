"""Where a class's submissions are: SUBMISSIONS_DIR/STUDENT/LESSON.ipynb (or .py), or nbgrader's layout
SUBMISSIONS_DIR/STUDENT/LESSON/LESSON.ipynb. Anything else in the folder is reported, never guessed at."""

from __future__ import annotations

import dataclasses
from pathlib import Path


@dataclasses.dataclass(frozen=True, order=True)
class Task:
    student: str
    lesson: str
    path: str  # absolute: workers on other machines read the same shared folder


def find(root: Path, lessons: list[str]) -> tuple[list[Task], list[str]]:
    """The tasks under `root`, sorted, and a note for each entry that is not a submission."""
    tasks: list[Task] = []
    notes: list[str] = []
    for student_dir in sorted(p for p in root.iterdir() if not p.name.startswith(".")):
        if not student_dir.is_dir():
            notes.append(f"{student_dir.name}: not a student folder (expected {root.name}/STUDENT/LESSON.ipynb)")
            continue
        for lesson in lessons:
            candidates = [student_dir / f"{lesson}.ipynb", student_dir / f"{lesson}.py",
                          student_dir / lesson / f"{lesson}.ipynb", student_dir / lesson / f"{lesson}.py"]
            found = [p for p in candidates if p.is_file()]
            if len(found) > 1:
                notes.append(f"{student_dir.name}/{lesson}: several submissions ({', '.join(p.name for p in found)});"
                             f" grading {found[0].relative_to(root)}")
            if found:
                tasks.append(Task(student_dir.name, lesson, str(found[0].resolve())))
    return sorted(tasks), notes
