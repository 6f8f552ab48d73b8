"""`course watch [LESSON]`: re-run the public checks whenever the notebook (or a .py beside it) is saved.

File events come from watchfiles (inotify, FSEvents, ...). It falls back to polling by itself where events
cannot be had, and polls on WSL; `--poll` (or WATCHFILES_FORCE_POLLING=1) forces polling, e.g. for network
or mounted folders whose events never arrive. Folders are watched, not files: JupyterLab saves by writing
a new file and renaming it over the old one. Checks run through the grader (an isolated child, with
course.yml's time limits), as `course grade --public-only` runs them, and are recorded for `course status`.
Ctrl-C stops it with exit status 0 and one line.
"""

from __future__ import annotations

import datetime
import shutil
import signal
import textwrap
from collections.abc import Callable
from pathlib import Path

from grader.engine.registry import LessonSpec
from grader.student import progress

DEBOUNCE_MS = 400
STOPPED = "stopped watching"


def targets(lessons: list[LessonSpec], submission: Path | None) -> dict[Path, tuple[LessonSpec, Path]]:
    """folder -> (lesson, the file its checks run on)."""
    if submission is not None:
        (lesson,) = lessons
        return {submission.resolve().parent: (lesson, submission.resolve())}
    return {lesson.notebook().parent.resolve(): (lesson, lesson.notebook().resolve())
            for lesson in lessons if lesson.notebook().parent.is_dir()}


def wanted(folders: dict[Path, tuple[LessonSpec, Path]], changed: str) -> tuple[LessonSpec, Path] | None:
    """The (lesson, file) a changed path calls for: the watched file itself or a .py beside it."""
    path = Path(changed)
    found = folders.get(path.parent)
    if found is None or path.name.startswith("."):
        return None
    if path.name == found[1].name or path.suffix == ".py":
        return found
    return None


def run_checks(lesson: LessonSpec, path: Path, echo: Callable[[str], None], why: str) -> None:
    from grader.engine.grading import grade  # imports torch

    echo(f"{datetime.datetime.now():%H:%M:%S} {why}: running the public checks of {lesson.id} on {path.name}")
    report = grade(lesson.id, path, public_only=True)
    if path == lesson.notebook().resolve():
        try:
            progress.record_report(report, public_only=True, by="course watch")
        except OSError:
            pass
    width = min(shutil.get_terminal_size((100, 24)).columns, 120)
    summary = progress.summarize(report.results)
    for exercise in dict.fromkeys(r.exercise for r in report.results):
        outcome = summary.get(exercise)
        if outcome is None:
            echo(f"  [SKIP] {exercise}: no check could be judged here")
            continue
        mark = "PASS" if not outcome["failing"] else "FAIL"
        echo(f"  [{mark}] {exercise}: {outcome['passed']}/{outcome['total']} public checks pass")
        failed: dict[str, list[str]] = {}  # message -> the checks that said it (a stub says the same to all)
        for r in report.results:
            if r.exercise == exercise and r.status in ("failed", "error"):
                failed.setdefault(r.message, []).append(f"{r.check} ({r.device})")
        for message, checks in failed.items():
            echo(textwrap.fill(f"{', '.join(checks)}: {message}", width, initial_indent=" " * 9,
                               subsequent_indent=" " * 11, break_long_words=False, break_on_hyphens=False))
    passed = sum(o["passed"] for o in summary.values())
    total = sum(o["total"] for o in summary.values())
    echo(f"{lesson.id}: {passed}/{total} public checks pass")


def watch(lessons: list[LessonSpec], submission: Path | None, *, poll: bool, echo: Callable[[str], None],
          initial: bool) -> None:
    """Watch until Ctrl-C (returns normally then)."""
    import watchfiles

    interrupted: list[int] = []

    def on_ctrl_c(signum: int, frame: object) -> None:  # installed even where SIGINT was inherited ignored
        interrupted.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_ctrl_c)
    folders = targets(lessons, submission)
    try:
        if initial:
            for lesson, path in folders.values():
                if path.exists():
                    run_checks(lesson, path, echo, "start")
        names = ", ".join(sorted({p.name for _, p in folders.values()}))
        echo(f"watching {names} (and .py files beside {'it' if len(folders) == 1 else 'them'}) for saves"
             f"{' by polling' if poll else ''}; Ctrl-C stops")
        for changes in watchfiles.watch(*folders, recursive=False, debounce=DEBOUNCE_MS, step=50,
                                        force_polling=True if poll else None, watch_filter=None):
            due = {}
            for _change, changed in changes:
                found = wanted(folders, changed)
                if found is not None and found[1].exists():
                    due[found[1]] = (found[0], Path(changed).name)
            for path, (lesson, name) in due.items():
                run_checks(lesson, path, echo, f"{name} saved")
    except BaseException:  # Ctrl-C, also mid-check, where the grader's cleanup may raise something else
        if not interrupted:
            raise
    echo(STOPPED)
