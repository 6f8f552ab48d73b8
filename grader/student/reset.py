"""`course reset LESSON [EXERCISE]`: put the generated stub back, after a timestamped backup.

Where the pristine notebook comes from:
1. solutions/ (the full course): regenerated, as `course build` makes exercises/ (always current);
2. otherwise (a student bundle has no solutions/) the copy shipped at exercises/LESSON/.pristine/LESSON.ipynb.
Before anything is written, the student's notebook is copied to
exercises/LESSON/.backups/LESSON-YYYYmmdd-HHMMSS.ipynb (never overwritten), so no reset loses work.
Without EXERCISE the whole notebook is replaced; with one, only its cell (its nbgrader `grade_id`), and
a deleted cell is put back where it was.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
from pathlib import Path
from typing import Any

from grader.engine.registry import LessonSpec
from grader.student import notebooks, progress

PRISTINE = ".pristine"
BACKUPS = ".backups"


class ResetError(ValueError):
    """The reset cannot be done; nothing was changed. The message says why."""


@dataclasses.dataclass(frozen=True)
class Reset:
    notebook: Path
    backup: Path | None  # None: there was no notebook to keep
    exercises: tuple[str, ...]


def pristine_path(lesson: LessonSpec) -> Path:
    return lesson.notebook().parent / PRISTINE / lesson.notebook().name


def pristine_text(lesson: LessonSpec) -> str:
    """The student notebook as released (stubs), as text."""
    if lesson.notebook("solutions").exists():
        import nbformat

        from grader.authoring.stubs import student_notebook

        return nbformat.writes(student_notebook(lesson)) + "\n"
    shipped = pristine_path(lesson)
    try:
        return shipped.read_text(encoding="utf-8")
    except OSError:
        raise ResetError(f"no pristine copy of {lesson.id}: neither solutions/ nor {shipped} is here") from None


def backup(path: Path, stamp: datetime.datetime | None = None) -> Path:
    """Copy `path` to .backups/NAME-YYYYmmdd-HHMMSS.ipynb next to it; a new name if that one is taken."""
    stamp = stamp or datetime.datetime.now()
    folder = path.parent / BACKUPS
    folder.mkdir(exist_ok=True)
    data = path.read_bytes()
    base = f"{path.stem}-{stamp:%Y%m%d-%H%M%S}"
    for n in range(1, 1000):
        target = folder / (base + ("" if n == 1 else f"-{n}") + path.suffix)
        try:
            with open(target, "xb") as out:  # exclusive: an earlier backup is never overwritten
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            return target
        except FileExistsError:
            continue
    raise ResetError(f"too many backups named {base}* in {folder}")


def reset(lesson: LessonSpec, exercise: str | None = None) -> Reset:
    names = [e.name for e in lesson.exercises]
    if exercise is not None and exercise not in names:
        raise ResetError(f"{lesson.id} has no exercise {exercise!r}; its exercises: {', '.join(names)}")
    pristine = pristine_text(lesson)
    path = lesson.notebook()
    if exercise is not None:
        student = notebooks.read(path)
        if student is None:
            raise ResetError(f"{path} is missing or not a readable notebook: `course reset {lesson.id}` "
                             "restores the whole notebook (after a backup)")
        _restore_cell(student, json.loads(pristine), exercise)
        text = json.dumps(student, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    else:
        text = pristine
    saved = backup(path) if path.exists() else None
    _write(path, text)
    done = (exercise,) if exercise is not None else tuple(names)
    try:
        progress.forget_results(lesson.id, done)
    except OSError:
        pass
    return Reset(path, saved, done)


def _restore_cell(student: dict[str, Any], pristine: dict[str, Any], exercise: str) -> None:
    """Put the pristine cell(s) of `exercise` in place of the student's, or back where they were."""
    wanted = notebooks.exercise_cells(pristine, exercise)
    if not wanted:
        raise ResetError(f"the released notebook has no cell for {exercise}")
    cells = student["cells"]
    mine = notebooks.exercise_cells(student, exercise)
    for index in wanted:
        fresh = json.loads(json.dumps(pristine["cells"][index]))
        same_id = [i for i, c in enumerate(cells) if isinstance(c, dict) and c.get("id") == fresh.get("id")]
        target = (mine or same_id or [None])[0]
        if target is not None:
            if "id" in cells[target]:
                fresh["id"] = cells[target]["id"]
            cells[target] = fresh
            mine = [i for i in mine if i != target]
        else:  # deleted: after the cell that came before it in the released notebook
            before = {c.get("id") for c in pristine["cells"][:index]}
            anchor = [i for i, c in enumerate(cells) if isinstance(c, dict) and c.get("id") in before]
            cells.insert(anchor[-1] + 1 if anchor else len(cells), fresh)
    for extra in sorted(mine, reverse=True):  # other copies defining it: the stub is the one that counts
        cells[extra]["source"] = f"# (course reset {exercise}: this cell's code is in the backup)\n"
        cells[extra]["outputs"] = []


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.reset-{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
