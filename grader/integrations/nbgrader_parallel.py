"""`course nbgrader autograde LESSON --jobs N`: nbgrader's own autograde, N students at a time.

nbgrader autogrades one notebook after another. This runs N real `nbgrader autograde LESSON` commands side
by side in the course folder, each on its share of the students (nbgrader's
`--CourseDirectory.student_id_exclude` leaves out everyone else), so that each has its own kernel and its
own judge (grader.integrations.nbgrader_judge), grading exactly as a serial run does. They share the
gradebook: SQLite serialises their writes, and a busy timeout makes a writer wait for another instead of
failing with "database is locked". Then `nbgrader export` reads one gradebook, as after a serial run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

BUSY_TIMEOUT_S = 120  # how long a gradebook write waits for another command's write


class AutogradeError(RuntimeError):
    """Bad arguments: no course here, no submissions for the lesson."""


def students(root: Path, lesson: str) -> list[str]:
    """The students with a submission of `lesson` (submitted/STUDENT/LESSON/), sorted."""
    submitted = root / "submitted"
    return sorted(p.name for p in submitted.iterdir() if (p / lesson).is_dir()) if submitted.is_dir() else []


def shares(ids: Sequence[str], jobs: int) -> list[list[str]]:
    """Students dealt round-robin into at most `jobs` non-empty shares."""
    return [share for share in (list(ids[k::jobs]) for k in range(max(jobs, 1))) if share]


def _db_url(root: Path) -> str:
    return f"sqlite:///{(root / 'gradebook.db').absolute()}?timeout={BUSY_TIMEOUT_S}"


def autograde(root: Path, lesson: str, jobs: int, extra: Sequence[str] = (),
              echo: Callable[[str], object] = print) -> int:
    """Autograde every submission of `lesson` under `root` with `jobs` nbgrader commands at once.

    Returns the worst exit status of those commands (nbgrader exits 1 when a notebook could not be read,
    after grading everyone else). Each command's log is kept in autograde-logs/LESSON-K.log.
    """
    root = Path(root).absolute()
    if not (root / "nbgrader_config.py").is_file():
        raise AutogradeError(f"{root} has no nbgrader_config.py: run it in a course made by `course nbgrader init`")
    ids = students(root, lesson)
    if not ids:
        raise AutogradeError(f"no submissions of {lesson} under {root / 'submitted'} (expected STUDENT/{lesson}/)")
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    logs = root / "autograde-logs"
    logs.mkdir(exist_ok=True)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    running = []
    start = time.monotonic()
    for k, share in enumerate(shares(ids, jobs)):
        others = [s for s in ids if s not in share]
        cmd = [nbgrader, "autograde", lesson, f"--CourseDirectory.db_url={_db_url(root)}", *extra]
        if others:
            cmd.append(f"--CourseDirectory.student_id_exclude={','.join(others)}")
        log = logs / f"{lesson}-{k}.log"
        with open(log, "w") as out:
            running.append((share, log, subprocess.Popen(cmd, cwd=root, env=env, stdout=out,
                                                         stderr=subprocess.STDOUT)))
        echo(f"autograde {lesson}: command {k + 1} grades {len(share)} students ({share[0]} ... {share[-1]}), "
             f"log {log.relative_to(root)}")
    worst = 0
    try:
        for share, log, proc in running:
            code = proc.wait()
            worst = max(worst, code)
            echo(f"autograde {lesson}: {len(share)} students done, exit {code}"
                 + ("" if code == 0 else f" (see {log.relative_to(root)})"))
    finally:
        for _, _, proc in running:
            if proc.poll() is None:
                proc.terminate()
                proc.wait()
    echo(f"autograde {lesson}: {len(ids)} students in {time.monotonic() - start:.1f} s with "
         f"{len(running)} commands; next: nbgrader export")
    return worst
