"""The class's grades on disk: OUT/STUDENT.json (a list of per-lesson reports, the `course grade --json`
shape), OUT/STUDENT.csv (one row per check), and OUT/grades.csv (one row per student and lesson)."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

from grader.classroom.submissions import Task
from grader.engine.report import write_atomic

CHECK_COLUMNS = ["lesson", "exercise", "check", "device", "status", "points", "max_points", "message"]
SUMMARY_COLUMNS = ["student", "lesson", "score", "max_score"]


def write(out: Path, results: list[tuple[Task, dict]]) -> list[Path]:
    """Write every student's files and the summary; return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    by_student: dict[str, list[dict]] = defaultdict(list)
    for task, report in sorted(results, key=lambda item: item[0]):
        by_student[task.student].append(report)
    written = []
    for student, reports in by_student.items():
        write_atomic(out / f"{student}.json", json.dumps(reports, indent=2) + "\n")
        rows = [[r["lesson"], c["exercise"], c["check"], c["device"], c["status"], c["points"], c["max_points"],
                 c["message"]] for r in reports for c in r["checks"]]
        write_atomic(out / f"{student}.csv", _csv(CHECK_COLUMNS, rows))
        written += [out / f"{student}.json", out / f"{student}.csv"]
    summary = [[task.student, report["lesson"], report["score"], report["max_score"]]
               for task, report in sorted(results, key=lambda item: item[0])]
    write_atomic(out / "grades.csv", _csv(SUMMARY_COLUMNS, summary))
    return [*written, out / "grades.csv"]


def _csv(header: list[str], rows: list[list]) -> str:
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()
