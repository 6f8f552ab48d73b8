"""Maintainers' test submissions (tests/submissions/LESSON/*.py): mutants, faults and alternatives.

Most files hold only the exercise they get wrong; `compose` prepends the reference solution so the
other exercises are right and the file's definitions win. A first line containing "standalone" opts out.
"""

from __future__ import annotations

from pathlib import Path

from grader.engine.registry import ROOT, course
from grader.engine.submission import read_code

SUBMISSIONS = ROOT / "tests" / "submissions"


def reference_code(lesson: str) -> str:
    """The code cells of the lesson's solution notebook (demos and self-checks left out)."""
    cells = read_code(course().lesson(lesson).notebook("solutions"))
    return "\n\n".join(cell.source for cell in cells)


def compose(lesson: str, name: str, folder: Path) -> Path:
    """Write `folder/LESSON_NAME`: the reference, then the named submission file."""
    source = (SUBMISSIONS / lesson / name).read_text()
    if "standalone" not in source.splitlines()[0]:
        source = reference_code(lesson) + "\n\n# ---- " + name + " ----\n" + source
    path = folder / f"{lesson}_{name}"
    path.write_text(source)
    return path


def names(lesson: str) -> list[str]:
    folder = SUBMISSIONS / lesson
    return sorted(p.name for p in folder.glob("*.py")) if folder.is_dir() else []
