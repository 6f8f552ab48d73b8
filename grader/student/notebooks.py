"""Reading a student's notebook without running it: which cell holds an exercise, which stubs are left.

Plain JSON, no nbformat and no torch, so that `course status` answers at once.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

_STUB = re.compile(r"""raise\s+NotImplementedError\(\s*["'](lesson\w+): ([^"']*)["']\s*\)""")


def read(path: Path) -> dict[str, Any] | None:
    """The notebook as JSON, or None when it is missing or not a notebook."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return None
    return nb


def source(cell: dict[str, Any]) -> str:
    text = cell.get("source", "")
    return "".join(x for x in text if isinstance(x, str)) if isinstance(text, list) else str(text)


def grade_id(cell: dict[str, Any]) -> str | None:
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta.get("grade_id") if isinstance(meta, dict) else None


def exercise_cells(nb: dict[str, Any], exercise: str) -> list[int]:
    """Indices of the code cells holding `exercise`: its nbgrader cell (grade_id), else the cells defining it."""
    cells = [c if isinstance(c, dict) else {} for c in nb.get("cells", [])]
    code = [i for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    tagged = [i for i in code if grade_id(cells[i]) == exercise]
    if tagged:
        return tagged
    defines = re.compile(rf"^(?:class|def|async\s+def)\s+{re.escape(exercise)}\b", re.MULTILINE)
    return [i for i in code if defines.search(source(cells[i]))]


def stubs_left(text: str, lesson: str) -> list[str]:
    """The functions whose generated stub `raise NotImplementedError("lessonN: name")` is still in `text`."""
    lines = (line for line in text.splitlines() if not line.lstrip().startswith("#"))
    return [name for line in lines for where, name in _STUB.findall(line) if where == lesson]
