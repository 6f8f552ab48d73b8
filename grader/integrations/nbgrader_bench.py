"""`course nbgrader bench`: what autograding a class costs, next to nbgrader's own baseline.

Three courses in a scratch folder, the same lesson, the same N copies of the reference answers:
- baseline: nbgrader's default pipeline on the lesson's notebook with no grader call (test cells `pass`);
- lean baseline: the same, with the demo cells skipped, so the kernel runs what CourseExecute runs;
- course: the course directory of `course nbgrader init` (kernel run + the judge's grading).
Each is autograded with 1 student and with N; per notebook = (T_N - T_1) / (N - 1), startup = T_1 - that.
The course run's log gives the split per notebook: the kernel run, and the judge's grading beside it;
a warm judge in this process splits the grading into engine overhead (fork, load, data round trips:
the cheapest check alone) and the checks' own work.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nbformat

from grader.engine import registry
from grader.integrations.nbgrader_cell import BEGIN_HIDDEN, END_HIDDEN
from grader.integrations.nbgrader_course import init


def bench(lesson_id: str, students: int, folder: Path | None = None, echo: Callable[[str], None] = print,
          jobs: int = 2) -> dict:
    """Run the benchmark; return and print its figures (seconds)."""
    lesson = registry.course().lesson(lesson_id)
    scratch = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="course-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    figures: dict = {"lesson": lesson.id, "students": students, "cores": os.cpu_count()}
    try:
        course_root = scratch / "course"
        init(course_root)
        runs = {"baseline": scratch / "baseline", "lean baseline": scratch / "lean", "course": course_root}
        _baseline_course(course_root, runs["baseline"], lesson.id)
        _baseline_course(course_root, runs["lean baseline"], lesson.id, skip_tag="demo")
        for name, root in runs.items():
            _nbgrader(root, "generate_assignment", lesson.id, "--force")
            released = json.loads((root / "release" / lesson.id / f"{lesson.id}.ipynb").read_text())
            answered = _answered(released, lesson)
            one = _class(root, lesson.id, answered, 1)
            many = _class(root, lesson.id, answered, students)
            per = (many[0] - one[0]) / max(students - 1, 1)
            figures[name] = {"startup": one[0] - per, "per_notebook": per, "class": many[0]}
            echo(f"{name:14s} 1 student {one[0]:6.1f} s, {students} students {many[0]:6.1f} s")
            if name == "course":
                kernel = [float(x) for x in re.findall(r"kernel run ([\d.]+) s", many[1])]
                after = [float(x) for x in re.findall(r"report ([\d.]+) s after it", many[1])]
                graded = [float(x) for x in re.findall(r"graded in ([\d.]+) s", many[1])]
                figures["course"].update(kernel_run=statistics.median(kernel), judge_grading=statistics.median(graded),
                                         wait_after_kernel=statistics.median(after))
                if jobs > 1:  # the same class with `course nbgrader autograde --jobs`
                    parallel = _class(root, lesson.id, answered, students, jobs=jobs)[0]
                    figures["course"].update(jobs=jobs, parallel_class=parallel)
                    echo(f"{name:14s} {students} students {parallel:6.1f} s with --jobs {jobs}")
        figures["split"] = _engine_split(lesson.id)
    finally:
        if folder is None:
            shutil.rmtree(scratch, ignore_errors=True)
    _print(figures, echo)
    return figures


def _nbgrader(root: Path, *args: str) -> str:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), *args], cwd=root, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return done.stdout + done.stderr


def _baseline_course(course_root: Path, root: Path, lesson: str, skip_tag: str = "") -> None:
    """nbgrader's defaults, and the lesson's source notebook with test cells that call nothing."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = 'baseline'\nc.CourseDirectory.root = {str(root)!r}\n"
        f"c.Execute.skip_cells_with_tag = {skip_tag or 'skip-execution'!r}\n")
    nb = nbformat.read(course_root / "source" / lesson / f"{lesson}.ipynb", as_version=4)
    for cell in nb.cells:
        if BEGIN_HIDDEN in cell.source:
            cell.source = "pass"
    assert all(END_HIDDEN not in cell.source for cell in nb.cells)
    target = root / "source" / lesson / f"{lesson}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)
    _nbgrader(root, "db", "assignment", "add", lesson)


def _answered(released: dict, lesson: registry.LessonSpec) -> dict:
    """The released notebook with the reference answers in its solution cells."""
    solutions = nbformat.read(lesson.notebook("solutions"), as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in solutions.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in released["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    return released


def _class(root: Path, lesson: str, nb: dict, students: int, jobs: int = 1) -> tuple[float, str]:
    """Seconds for `nbgrader autograde` of `students` fresh submissions (`jobs` > 1: that many commands at
    once, as `course nbgrader autograde --jobs` runs them), and its log."""
    for folder in ("submitted", "autograded"):
        shutil.rmtree(root / folder, ignore_errors=True)
    for i in range(students):
        path = root / "submitted" / f"s{i:03d}" / lesson / f"{lesson}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(nb))
    start = time.monotonic()
    if jobs > 1:
        from grader.integrations.nbgrader_parallel import autograde

        lines: list[str] = []
        code = autograde(root, lesson, jobs, echo=lines.append)
        if code:
            raise RuntimeError(f"course nbgrader autograde --jobs {jobs} exited {code}: " + "\n".join(lines))
        return time.monotonic() - start, "\n".join(lines)
    log = _nbgrader(root, "autograde", lesson)
    return time.monotonic() - start, log


def _engine_split(lesson_id: str) -> dict:
    """A warm judge here: the reference graded fully, and with only its cheapest check (engine overhead)."""
    from grader.engine.grading import grade
    from grader.integrations.nbgrader_judge import warm_up

    warm_up()
    lesson = registry.course().lesson(lesson_id)
    path = lesson.notebook("solutions")
    grade(lesson.id, path)  # first child: imports in the judge that only a grading triggers
    full = [_timed(lambda: grade(lesson.id, path)) for _ in range(3)]
    cheapest = lesson.checks[0].name
    alone = [_timed(lambda: grade(lesson.id, path, checks=[cheapest])) for _ in range(3)]
    return {"grading": statistics.median(full), "engine": statistics.median(alone), "cheapest_check": cheapest}


def _timed(fn: Callable[[], object]) -> float:
    start = time.monotonic()
    fn()
    return time.monotonic() - start


def _print(f: dict, echo: Callable[[str], None]) -> None:
    ours, split = f["course"], f["split"]
    load = os.getloadavg()[0]
    echo(f"\nnbgrader autograde, {f['lesson']}, {f['students']} students; {f['cores']} cores, load {load:.1f}")
    echo(f"{'':30s}{'startup':>10s}{'per notebook':>15s}{'class':>10s}")
    for name in ("baseline", "lean baseline", "course"):
        row = f[name]
        echo(f"{name:30s}{row['startup']:9.1f}s{row['per_notebook']:14.2f}s{row['class']:9.1f}s")
    for name in ("baseline", "lean baseline"):
        base = f[name]
        echo(f"{'course - ' + name:30s}{ours['startup'] - base['startup']:+9.1f}s"
             f"{ours['per_notebook'] - base['per_notebook']:+14.2f}s{ours['class'] - base['class']:+9.1f}s")
    if "parallel_class" in ours:
        echo(f"{'course, --jobs ' + str(ours['jobs']):30s}{'':25s}{ours['parallel_class']:9.1f}s  "
             f"({ours['class'] / ours['parallel_class']:.2f}x the serial class)")
    echo(f"per notebook (medians): kernel run {ours['kernel_run']:.2f} s; the judge grades meanwhile in "
         f"{ours['judge_grading']:.2f} s; waited {ours['wait_after_kernel']:.2f} s after the kernel")
    echo(f"grading the reference in a warm judge: {split['grading']:.2f} s = engine overhead "
         f"{split['engine']:.2f} s (fork, load, `{split['cheapest_check']}` alone) + checks' own work "
         f"{split['grading'] - split['engine']:.2f} s")
