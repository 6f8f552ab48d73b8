"""The student's local progress file: the last public-check results, the last grade, the hints shown.

It is `.course-progress.json` at the course root (git-ignored); `COURSE_PROGRESS=FILE` puts it elsewhere.
Written by the notebook's `check()`, by `course grade` on the student's own notebook, by `course status
--check`, `course watch`, `course hint` and `course reset`. It is a record for `course status`, never a
grade: a missing or corrupt file reads as empty, and failing to write it never fails the command.
Under pytest it is written only when COURSE_PROGRESS names a file, so tests never touch a student's.

    {"version": 1,
     "lessons": {"lesson3": {
        "grade": {"score": 12.0, "max_score": 19.0, "at": "2025-05-01T14:02:11+02:00"},
        "exercises": {"Merge": {
            "public": {"passed": 3, "total": 4, "failing": ["broadcast_shapes"], "at": "...", "by": "check"},
            "graded": {"points": 8.0, "max_points": 14.0, "at": "..."},
            "hints": 2}}}}}
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from grader.engine import registry

FILE_NAME = ".course-progress.json"
ENV = "COURSE_PROGRESS"
VERSION = 1


def path() -> Path | None:
    """Where progress is kept; None under pytest unless COURSE_PROGRESS says where."""
    named = os.environ.get(ENV)
    if named:
        return Path(named)
    if "PYTEST_CURRENT_TEST" in os.environ:
        return None
    return registry.ROOT / FILE_NAME


def now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def load() -> dict[str, Any]:
    """The recorded progress; {} when there is none or the file is unreadable."""
    where = path()
    try:
        data = json.loads(where.read_text(encoding="utf-8")) if where is not None else {}
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("lessons"), dict):
        return {}
    return data


def lesson_record(data: dict[str, Any], lesson: str) -> dict[str, Any]:
    found = data.get("lessons", {}).get(lesson)
    return found if isinstance(found, dict) else {}


def exercise_record(data: dict[str, Any], lesson: str, exercise: str) -> dict[str, Any]:
    found = lesson_record(data, lesson).get("exercises", {})
    found = found.get(exercise) if isinstance(found, dict) else None
    return found if isinstance(found, dict) else {}


def update(change: Callable[[dict[str, Any]], Any]) -> Any:
    """Apply `change` to the recorded progress and write it back atomically; returns what `change` returns.

    Raises OSError when the file cannot be written (callers that only keep a record ignore it).
    """
    where = path()
    with _locked(where):
        data = load()
        data = data if data else {"version": VERSION, "lessons": {}}
        result = change(data)
        if where is not None:
            _write(where, data)
    return result


def _exercise(data: dict[str, Any], lesson: str, exercise: str) -> dict[str, Any]:
    lessons = data.setdefault("lessons", {})
    record = lessons.setdefault(lesson, {})
    exercises = record.setdefault("exercises", {})
    return exercises.setdefault(exercise, {})


def summarize(results: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Per exercise, the public checks' outcome (a check counts once, whatever the devices it ran on).

    A check fails when any device's row failed or erred; rows skipped (no GPU, inconclusive) do not count.
    """
    verdicts: dict[str, dict[str, bool]] = {}
    for r in results:
        if not getattr(r, "public", True) or r.status == "skipped":
            continue
        checks = verdicts.setdefault(r.exercise, {})
        checks[r.check] = checks.get(r.check, True) and r.status == "passed"
    return {exercise: {"passed": sum(checks.values()), "total": len(checks),
                       "failing": [name for name, ok in checks.items() if not ok]}
            for exercise, checks in verdicts.items()}


def record_public(lesson: str, results: Iterable[Any], *, by: str) -> None:
    """Keep the public checks' outcome of each exercise in `results` (CheckResult rows)."""
    summary = summarize(results)
    stamp = now()

    def change(data: dict[str, Any]) -> None:
        for exercise, outcome in summary.items():
            _exercise(data, lesson, exercise)["public"] = {**outcome, "at": stamp, "by": by}

    if summary:
        update(change)


def record_report(report: Any, *, public_only: bool, by: str) -> None:
    """Keep a grading report of the student's own notebook: its public outcome, and the grade if it was one."""
    record_public(report.lesson, report.results, by=by)
    if public_only:
        return
    stamp = now()

    def change(data: dict[str, Any]) -> None:
        data["lessons"].setdefault(report.lesson, {})["grade"] = {
            "score": report.score, "max_score": report.max_score, "at": stamp}
        for exercise, (got, out_of) in report.by_exercise().items():
            _exercise(data, report.lesson, exercise)["graded"] = {"points": got, "max_points": out_of, "at": stamp}

    update(change)


def remember_grade(report: Any, submission: Path, *, public_only: bool) -> None:
    """`course grade`'s hook: record the report when it graded the student's own notebook; never raises."""
    try:
        spec = registry.load(verify_implementations=False).lesson(report.lesson)
        if Path(submission).resolve() == spec.notebook().resolve():
            record_report(report, public_only=public_only, by="course grade")
    except (OSError, ValueError, KeyError):
        pass


def hints_shown(data: dict[str, Any], lesson: str, exercise: str) -> int:
    shown = exercise_record(data, lesson, exercise).get("hints", 0)
    return shown if isinstance(shown, int) and shown >= 0 else 0


def forget_results(lesson: str, exercises: Iterable[str]) -> None:
    """After a reset: the exercises' recorded results no longer describe the notebook (hints stay)."""
    names = list(exercises)

    def change(data: dict[str, Any]) -> None:
        for exercise in names:
            record = _exercise(data, lesson, exercise)
            record.pop("public", None)
            record.pop("graded", None)

    update(change)


# -- the file ----------------------------------------------------------------------------------------------
def _write(where: Path, data: dict[str, Any]) -> None:
    where.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=where.name + ".", suffix=".tmp", dir=where.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1, sort_keys=True)
            out.write("\n")
        os.replace(tmp, where)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _locked(where: Path | None) -> Iterator[None]:
    """Serialize writers (a notebook's check() and `course watch` may finish at once): flock on the folder."""
    try:
        import fcntl
    except ImportError:  # not POSIX: last writer wins
        yield
        return
    fd = None
    if where is not None:
        with contextlib.suppress(OSError):
            fd = os.open(where.parent, os.O_RDONLY)
            fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)
