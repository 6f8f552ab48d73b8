"""The grading report: one row per (check, device); JSON for scripts, a table for people.

JSON shape (a contract for instructors' scripts):
    {"lesson", "score", "max_score",
     "checks": [{"exercise", "check", "points", "max_points", "status", "device", "message"}]}
Skipped rows are worth 0 of 0, so `score == sum(points)` and `max_score == sum(max_points)` always hold.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

STATUSES = ("passed", "failed", "error", "skipped")


@dataclasses.dataclass(frozen=True)
class CheckResult:
    exercise: str
    check: str
    device: str
    status: str
    points: float
    max_points: float
    message: str
    public: bool = True
    measured: float | None = None  # the number behind a speed verdict; not part of the JSON contract

    @property
    def id(self) -> str:
        return f"{self.exercise}::{self.check}[{self.device}]"

    def to_json(self) -> dict[str, Any]:
        return {"exercise": self.exercise, "check": self.check, "points": self.points,
                "max_points": self.max_points, "status": self.status, "device": self.device,
                "message": self.message}


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file beside it: a crash mid-write never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


@dataclasses.dataclass
class Report:
    lesson: str
    results: list[CheckResult]
    sandbox: str = ""  # how the submission's code was sealed, as its child reported before running it

    @property
    def sealed(self) -> bool:
        return self.sandbox.startswith("sealed")

    @property
    def score(self) -> float:
        return sum(r.points for r in self.results)

    @property
    def max_score(self) -> float:
        return sum(r.max_points for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {"lesson": self.lesson, "score": self.score, "max_score": self.max_score,
                "sandbox": self.sandbox, "sealed": self.sealed,
                "checks": [r.to_json() for r in self.results]}

    def write_json(self, path: Path | str) -> None:
        """Write atomically: a crash mid-write never leaves a truncated report."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(self.to_json(), indent=2) + "\n")

    def by_exercise(self) -> dict[str, tuple[float, float]]:
        totals: dict[str, tuple[float, float]] = {}
        for r in self.results:
            got, out_of = totals.get(r.exercise, (0.0, 0.0))
            totals[r.exercise] = (got + r.points, out_of + r.max_points)
        return totals


_STYLE = {"passed": "green", "failed": "red", "error": "red", "skipped": "yellow"}
NO_CUDA = "skipped: no CUDA device on this machine"  # the message of a CUDA row on a machine without a GPU
NO_GPU_LINE = "CUDA rows skipped: no GPU on this machine"  # what people see instead of one row each
_INDENT = 11  # messages go under the check's name


def no_gpu_row(r: CheckResult) -> bool:
    return r.status == "skipped" and r.message == NO_CUDA


def render(report: Report, console: Any = None) -> None:
    """One block per exercise, one line per check and its message wrapped under it (80 columns read well).

    CUDA rows skipped for want of a GPU collapse into one line; the JSON keeps every row.
    """
    from rich.console import Console
    from rich.text import Text

    if console is None:
        console = Console(highlight=False)
        if not console.is_terminal and "COLUMNS" not in os.environ:
            console = Console(width=120, highlight=False)  # logs and pipes: wide, still wrapped at words
    shown = [r for r in report.results if not no_gpu_row(r)]
    inconclusive = [r for r in shown if r.status == "skipped"]
    note = f" ({len(inconclusive)} check{'s' * (len(inconclusive) > 1)} inconclusive here, not counted)" \
        if inconclusive else ""
    console.print(Text(f"{report.lesson}: {_num(report.score)} / {_num(report.max_score)} points{note}",
                       style="bold"))
    width = max((len(r.check) for r in shown), default=0)
    totals = report.by_exercise()
    for exercise in dict.fromkeys(r.exercise for r in shown):
        got, out_of = totals[exercise]
        console.print()
        console.print(Text(f"{exercise}: {_num(got)} / {_num(out_of)}", style="bold"))
        for r in (r for r in shown if r.exercise == exercise):
            line = Text("  ")
            line.append(f"{r.status:<7}", style=_STYLE[r.status])
            line.append(f"  {r.check:<{width}}  {r.device:<4}  {_num(r.points)}/{_num(r.max_points)}")
            console.print(line)
            for piece in Text(r.message).wrap(console, max(console.width - _INDENT, 20)):  # at spaces
                piece.rstrip()
                console.print(Text(" " * _INDENT) + piece)
    if len(shown) < len(report.results):
        console.print()
        console.print(Text(NO_GPU_LINE))
    if report.sandbox:
        console.print(Text(f"sandbox: {report.sandbox}"))


def _num(x: float) -> str:
    return f"{x:g}"
