"""Benchmark (not a test): grading start-up, the whole course, and a class in parallel (issue 14).

    .venv/bin/python benchmarks/grading_scale.py [--students 50] [--jobs 2] [--no-class]

Rows, all measured in this one run:
- `python -c "import torch"`: the floor of any command that grades;
- a grade's fixed cost: `course grade lesson3` on a submission that defines nothing (every check fails at
  once, so what remains is start-up: the grader's imports, the forkserver, a sealed child);
- `course grade --all --reference`: every lesson's reference, every check, one process;
- a class: --students submissions of lessons 3, 7 and 8 (references and mutants), serially and with
  --jobs workers on a local Dask cluster; the grades must be identical.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.classroom import submissions  # noqa: E402
from grader.classroom.pool import grade_tasks  # noqa: E402
from grader.engine.registry import course  # noqa: E402
from tests.mutants import compose, names  # noqa: E402

PYTHON = sys.executable


def wall(cmd: list[str], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def build_class(folder: Path, students: int) -> None:
    lessons = ("lesson3", "lesson7", "lesson8")
    mutants = {lesson: [n for n in names(lesson) if not n.startswith("alt_")] for lesson in lessons}
    work = folder / "_mutants"
    work.mkdir()
    for i in range(students):
        student = folder / "class" / f"student{i:03d}"
        student.mkdir(parents=True)
        lesson = lessons[i % len(lessons)]
        if i % 2 == 0:
            shutil.copy(course().lesson(lesson).notebook("solutions"), student / f"{lesson}.ipynb")
        else:
            pool = mutants[lesson]
            shutil.copy(compose(lesson, pool[i % len(pool)], work), student / f"{lesson}.py")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-class", action="store_true", help="only the start-up and --all rows")
    args = parser.parse_args()
    table = Table(title="grading at scale (this machine, one run)")
    for column in ("what", "seconds", "note"):
        table.add_column(column)
    torch_s = wall([PYTHON, "-c", "import torch"])
    table.add_row('python -c "import torch"', f"{torch_s:.2f}", "median of 3")
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty.py"
        empty.write_text("# defines nothing\n")
        fixed = wall([PYTHON, "-m", "grader", "grade", "lesson3", "--public-only", "--submission", str(empty)])
        table.add_row("fixed cost of a grade", f"{fixed:.2f}", f"{fixed / torch_s:.2f}x import torch (goal <= 1.5x)")
        start = time.perf_counter()
        subprocess.run([PYTHON, "-m", "grader", "grade", "--all", "--reference"], check=True, capture_output=True,
                       cwd=ROOT)
        whole = time.perf_counter() - start
        lessons = sum(1 for x in course().lessons if x.exercises)
        table.add_row("course grade --all --reference", f"{whole:.1f}", f"{lessons} lessons (goal <= 30 s for 8)")
        if args.no_class:
            Console(width=160).print(table)
            return
        build_class(Path(tmp), args.students)
        tasks, _ = submissions.find(Path(tmp) / "class", [x.id for x in course().lessons if x.exercises])
        start = time.perf_counter()
        serial = grade_tasks(tasks, jobs=1)
        serial_s = time.perf_counter() - start
        start = time.perf_counter()
        parallel = grade_tasks(tasks, jobs=args.jobs)
        parallel_s = time.perf_counter() - start
        same = sorted((t, r["score"]) for t, r in serial) == sorted((t, r["score"]) for t, r in parallel)
        table.add_row(f"class of {len(tasks)}, serial", f"{serial_s:.1f}", f"{serial_s / len(tasks):.2f} s each")
        table.add_row(f"class of {len(tasks)}, --jobs {args.jobs}", f"{parallel_s:.1f}",
                      f"{serial_s / parallel_s:.2f}x serial (goal >= 1.8x); same grades: {same}")
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
