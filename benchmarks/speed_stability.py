"""Benchmark (not a test): how stable is each speed verdict? (issue 14, goal 4)

Every speed check of course.yml (CPU rows) is graded --runs times on the reference and --runs times on the
naive baseline it must reject (a maintainers' mutant), while a busy process keeps the other core loaded.
A false fail is the reference failing; a false pass is the baseline passing. The closest margin is the
smallest distance between a measured ratio and its threshold, as a factor (>= 1 means on the right side).

    .venv/bin/python benchmarks/speed_stability.py [--runs 100] [--no-load] [--check lesson3.speed_vs_repeat_cat]

100 runs of every check take hours (each grade times 5 rounds of two processes); --runs 10 gives a first
look in about 20 minutes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.engine.grading import grade  # noqa: E402
from grader.engine.registry import course  # noqa: E402
from tests.mutants import compose  # noqa: E402

# speed check -> the naive baseline it exists to reject
BASELINES = {
    ("lesson3", "speed_vs_repeat_cat"): "repeat_cat.py",
    ("lesson4", "speed_vs_loop"): "slicing_loop.py",
    ("lesson5", "speed_vs_loop"): "python_loop.py",
    ("lesson5", "speed_vs_gather"): "python_loop.py",
    ("lesson6", "workers_share_decoding"): "decode_all.py",
    ("lesson6", "streams_on_slow_storage"): "reopen_per_member.py",
    ("lesson7", "speed_vs_builtin"): "python_loop.py",
    ("lesson8", "speed_vs_reference"): "per_example_loop.py",
}


def busy(stop) -> None:
    x = 0
    while not stop.is_set():
        x = (x * 7 + 1) % 1000003


ERRORS: list[str] = []  # runs that measured nothing (the grader failed): printed, never dropped silently


def verdicts(lesson: str, check: str, exercise: str, path: Path, runs: int) -> list[tuple[bool, float]]:
    out = []
    for _ in range(runs):
        for r in grade(lesson, path, checks=(check,)).results:
            if r.exercise == exercise and r.device == "cpu":
                if r.measured is not None:
                    out.append((r.status == "passed", r.measured))
                else:
                    ERRORS.append(f"{lesson}.{exercise}.{check} on {path.name}: {r.status}: {r.message[:300]}")
    return out


def verdict_key(spec) -> str:
    """The threshold the verdict compares with (max_*/min_*), not a setting such as open_latency_ms."""
    return next((k for k in spec.thresholds if k.startswith(("max_", "min_"))), next(iter(spec.thresholds)))


def margin(spec, ratio: float) -> float:
    """How far `ratio` is on its side of the threshold, as a factor (> 1: a safe distance)."""
    key = verdict_key(spec)
    limit = spec.threshold(key, "cpu")
    return limit / ratio if key.startswith("max") else ratio / limit


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--no-load", action="store_true", help="leave the other core idle")
    parser.add_argument("--check", action="append", help="LESSON.CHECK (repeatable); default: all")
    args = parser.parse_args()
    stop = multiprocessing.Event()
    loader = None if args.no_load else multiprocessing.Process(target=busy, args=(stop,), daemon=True)
    if loader:
        loader.start()
    table = Table(title=f"speed verdicts, {args.runs} runs each" + ("" if args.no_load else ", other core busy"))
    for column in ("check", "threshold", "reference ratios", "false fails", "baseline", "baseline ratios",
                   "false passes", "closest margin"):
        table.add_column(column)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for lesson in course().lessons:
                for spec in lesson.checks:
                    if spec.kind != "speed" or "cpu" not in spec.devices:
                        continue
                    if args.check and f"{lesson.id}.{spec.name}" not in args.check:
                        continue
                    baseline = BASELINES.get((lesson.id, spec.name))
                    ref = verdicts(lesson.id, spec.name, spec.exercise, lesson.notebook("solutions"), args.runs)
                    base = verdicts(lesson.id, spec.name, spec.exercise, compose(lesson.id, baseline, Path(tmp)),
                                    args.runs) if baseline else []
                    margins = [margin(spec, r) for _, r in ref] + [1 / margin(spec, r) for _, r in base]
                    key = verdict_key(spec)
                    table.add_row(f"{lesson.id} {spec.exercise}.{spec.name}",
                                  f"{key} {spec.threshold(key, 'cpu'):g}",
                                  _span([r for _, r in ref]), str(sum(not ok for ok, _ in ref)),
                                  baseline or "-", _span([r for _, r in base]), str(sum(ok for ok, _ in base)),
                                  f"{min(margins):.2f}x" if margins else "-")
    finally:
        stop.set()
    Console(width=200).print(table)
    if ERRORS:
        print(f"{len(ERRORS)} runs measured nothing (counted in neither column); the first ones:")
        for line in ERRORS[:10]:
            print("  " + line)


def _span(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}" if values else "-"


if __name__ == "__main__":
    main()
