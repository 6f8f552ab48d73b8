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
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        os.replace(tmp, path)

    def by_exercise(self) -> dict[str, tuple[float, float]]:
        totals: dict[str, tuple[float, float]] = {}
        for r in self.results:
            got, out_of = totals.get(r.exercise, (0.0, 0.0))
            totals[r.exercise] = (got + r.points, out_of + r.max_points)
        return totals


_STYLE = {"passed": "green", "failed": "red", "error": "red", "skipped": "yellow"}


def render(report: Report, console: Any = None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    if console is None:
        plain = Console()
        console = plain if plain.is_terminal else Console(width=160)
    inconclusive = [r for r in report.results if r.status == "skipped" and "no CUDA device" not in r.message]
    note = f" ({len(inconclusive)} check{'s' * (len(inconclusive) > 1)} inconclusive here, not counted)" \
        if inconclusive else ""
    table = Table(title=f"{report.lesson}: {_num(report.score)} / {_num(report.max_score)} points{note}",
                  show_lines=False, expand=False)
    for column in ("exercise", "check", "points", "device", "status"):
        table.add_column(column, no_wrap=True)
    table.add_column("message", overflow="fold")
    for r in report.results:
        table.add_row(r.exercise, r.check, f"{_num(r.points)}/{_num(r.max_points)}", r.device,
                      f"[{_STYLE[r.status]}]{r.status}[/]", escape(r.message))  # "x[i]" is not markup
    console.print(table)
    if report.sandbox:
        console.print(f"sandbox: {escape(report.sandbox)}")


def _num(x: float) -> str:
    return f"{x:g}"
