"""The course's steps in nbgrader's pipelines, configured by the nbgrader_config.py that `course nbgrader init` writes.

- CourseClearSolutions (generate_assignment): clears solution regions with grader.authoring.stubs.clear_solutions,
  so the released notebook's cells are exactly exercises/LESSON/LESSON.ipynb's.
- CourseExecute (autograde, in place of Execute): runs the student's cells in a kernel as Execute does,
  and answers the test cells, whose hidden part calls `grade_cell(...)`, with the report of
  `grader.engine.grading.grade` on this notebook. That grading happens in the process of
  grader.integrations.nbgrader_judge, never in the kernel: the student's cells have run in the kernel and
  could have replaced anything there.
- CourseDeduplicateIds (autograde's sanitizing, in place of DeduplicateIds): drops the nbgrader metadata
  of a duplicated cell's earlier copies entirely; nbgrader 0.9.6 leaves `{}`, on which OverwriteCells'
  add_missing_cells fails with KeyError 'grade_id' (the whole submission then goes ungraded).
- report_unreadable (autograde's pre-convert hook): names submissions nbgrader cannot even read.

Kernel faults never decide a grade: a dead kernel stops only the notebook run (the rest of its cells
are not sent), a cell that overruns is interrupted, a kernel using more than the lesson's memory is
killed. Test cells always carry the judge's results, with a note on what happened in the kernel.
"""

from __future__ import annotations

import functools
import os
import signal
import threading
import time
from pathlib import Path

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.preprocessors import ClearSolutions, DeduplicateIds, Execute
from traitlets import Bool, Dict, Float, Int

from grader.authoring.stubs import clear_solutions, has_solution
from grader.engine import registry
from grader.engine.memory import rss_bytes
from grader.engine.registry import LessonSpec
from grader.engine.submission import SKIPPED_TAGS
from grader.integrations.nbgrader_cell import cell_grade, parse_call
from grader.integrations.nbgrader_judge import Judge

MIB = 1 << 20


@functools.cache
def _course() -> registry.Course:
    """course.yml without importing the lessons' check modules (and torch): the judge process does that."""
    return registry.load(verify_implementations=False)


def course_lesson(assignment: str | None) -> LessonSpec | None:
    """The course.yml lesson an nbgrader assignment is (assignment ids are lesson ids), or None."""
    try:
        lesson = _course().lesson(assignment or "")
    except KeyError:
        return None
    return lesson if lesson.exercises else None


class CourseClearSolutions(ClearSolutions):
    """ClearSolutions whose code stubs name the function to write, as `course build` does."""

    def preprocess(self, nb, resources):
        self._lesson = course_lesson(resources.get("nbgrader", {}).get("assignment"))
        return super().preprocess(nb, resources)

    def _replace_solution_region(self, cell, language):
        if self._lesson is None or cell.cell_type != "code":
            return super()._replace_solution_region(cell, language)
        replaced = has_solution(cell.source)
        cell.source = clear_solutions(cell.source, self._lesson.id, f"{self._lesson.id} cell")
        return replaced


class CourseDeduplicateIds(DeduplicateIds):
    """DeduplicateIds that turns the earlier copies of a duplicated nbgrader cell into plain cells."""

    def preprocess(self, nb, resources):
        nb, resources = super().preprocess(nb, resources)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", None) == {}:
                del cell.metadata["nbgrader"]
        return nb, resources


class CourseExecute(Execute):
    """Execute, with test cells answered by the course's grader from outside the kernel."""

    lesson_timeouts = Dict(help="Kernel time limit per cell (s), per lesson id; default: Execute.timeout.").tag(
        config=True)
    grade_timeout_s = Float(None, allow_none=True, help=(
        "If set, overrides course.yml's per-check and per-cell limits for grading (as `course grade --timeout` "
        "does) and the kernel's per-cell limit.")).tag(config=True)
    kernel_memory_mb = Int(None, allow_none=True, help=(
        "Memory the kernel may use beyond torch's own footprint before it is killed; default: the lesson's "
        "memory_mb from course.yml.")).tag(config=True)

    seal_kernel = Bool(True, help=(
        "Start the kernel through grader.integrations.sealed_kernel: the student's cells may write only their "
        "own notebook folder and cannot signal other processes (Linux with Landlock; elsewhere it runs as "
        "nbgrader's own kernel does, and says so on stderr).")).tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        lesson = course_lesson((resources or {}).get("nbgrader", {}).get("assignment"))
        if self.seal_kernel and km is None:
            folder = ((resources or {}).get("metadata") or {}).get("path") or os.getcwd()
            self.kernel_manager_class = sealed_kernel_manager(os.path.abspath(folder))
        tests = {}
        for index, cell in enumerate(nb.cells):
            call = parse_call(cell.source) if cell.cell_type == "code" and utils.is_grade(cell) else None
            if lesson is not None and call is not None and call[0] == lesson.id:
                tests[index] = call[1]
        self._tests, self._lesson, self._notes, self._dead, self._watch = tests, lesson, [], False, None
        if not tests:
            return super().preprocess(nb, resources, km)
        start = time.monotonic()
        judge = Judge.shared()
        judge.submit(lesson.id, nb, self.grade_timeout_s)  # the judge grades while the kernel runs
        try:
            nb, resources = super().preprocess(nb, resources, km)
        except Exception as exc:  # the kernel could not run the notebook: the grade does not depend on it
            self.log.error("running %s in a kernel failed: %s", lesson.id, exc)
            self._notes.append(f"the notebook could not be run in a kernel ({type(exc).__name__}: {exc}); "
                               "the checks were run anyway")
        finally:
            if self._watch is not None:
                self._watch.stop()
        ran = time.monotonic()
        report = judge.result(self._judge_deadline(lesson))
        self.log.info("%s: kernel run %.1f s, report %.1f s after it", lesson.id, ran - start, time.monotonic() - ran)
        points = {e.name: sum(c.points for c in e.checks) for e in lesson.exercises}
        for index, exercises in tests.items():
            cell = nb.cells[index]
            worth = float(cell.metadata.nbgrader["points"])
            if worth != sum(points.get(x, 0.0) for x in exercises):
                self.log.warning("%s: test cell %s is worth %g points in the gradebook but %g in course.yml; "
                                 "re-run `course nbgrader init` and `nbgrader generate_assignment %s --force`",
                                 lesson.id, cell.metadata.nbgrader["grade_id"], worth,
                                 sum(points.get(x, 0.0) for x in exercises), lesson.id)
            result = cell_grade(report, exercises, worth, self._notes)
            cell.outputs = [new_output("stream", name="stdout", text=result.text + "\n"),
                            new_output("execute_result", data={"text/plain": repr(float(result.points))},
                                       execution_count=None)]
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if not self._tests:
            return super().preprocess_cell(cell, resources, index)
        skip = index in self._tests or set(cell.metadata.get("tags", [])) & SKIPPED_TAGS
        if skip or self._dead or cell.cell_type != "code":  # what `course grade` does not run, the kernel does not
            return cell, resources
        if self._watch is None:
            self._watch = _KernelWatch(self.km, self.kernel_memory_mb or self._lesson.memory_mb)
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._dead = True
            why = self._watch.why()
            cell.outputs.append(new_output("error", ename="DeadKernelError", evalue=f"the kernel died ({why})",
                                           traceback=[f"DeadKernelError: the kernel died while running this cell "
                                                      f"({why}); the cells below were not run."]))
            self._notes.append(f"the notebook's kernel died in cell {index + 1} ({why}), so the cells after it "
                               "were not run in the notebook; your code was still graded, in the grader's own "
                               "processes")
        except CellTimeoutError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "no output"
            cell.outputs.append(new_output("error", ename="CellTimeoutError", evalue=first,
                                           traceback=[f"CellTimeoutError: {first}"]))
            self._notes.append(f"cell {index + 1} stopped answering in the notebook's kernel ({first})")
        else:
            if any(o.get("ename") == "CellTimeoutError" for o in cell.outputs):
                self._notes.append(f"cell {index + 1} ran longer than {self._get_timeout(cell)} s in the "
                                   "notebook's kernel and was interrupted")
        return cell, resources

    def _get_timeout(self, cell):
        if getattr(self, "_tests", None) and self._lesson is not None:
            limit = self.grade_timeout_s or self.lesson_timeouts.get(self._lesson.id)
            if limit:
                return max(1, int(round(limit)))
        return super()._get_timeout(cell)

    def _judge_deadline(self, lesson: LessonSpec) -> float:
        """Longest a report may take: every check hanging, and every child reloading the notebook."""
        per_row = [(self.grade_timeout_s or c.timeout_s) + (self.grade_timeout_s or lesson.load_timeout_s) + 5
                   for c in lesson.checks for _ in c.devices]
        return sum(per_row) + 120


def sealed_kernel_manager(write_dir: str) -> type:
    """A kernel manager whose kernel starts sealed, writing only `write_dir` (the notebook's folder)."""
    import sys

    from jupyter_client import AsyncKernelManager

    class SealedKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            return [sys.executable, "-m", "grader.integrations.sealed_kernel", write_dir, "--", *cmd]

    return SealedKernelManager


class _KernelWatch:
    """Watches the kernel process: kills it when its memory passes the lesson's limit (plus torch's own
    footprint), as the grader's RSS watch does for its children, and says how it died."""

    def __init__(self, km, memory_mb: int):
        self.process = getattr(getattr(km, "provisioner", None), "process", None)
        self.limit = memory_mb * MIB + 1024 * MIB
        self.memory_mb = memory_mb
        self.killed = False
        self._stop = threading.Event()
        if self.process is not None:
            threading.Thread(target=self._run, name="kernel-watch", daemon=True).start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            if rss_bytes(self.process.pid) > self.limit:
                self.killed = True
                try:
                    os.kill(self.process.pid, signal.SIGKILL)
                except OSError:
                    pass
                return

    def why(self) -> str:
        if self.killed:
            return f"it used more than {self.memory_mb} MiB of memory and was stopped"
        code = self.process.poll() if self.process is not None else None
        if code is not None and code < 0:
            crash = ", a crash in compiled code" if -code == signal.SIGSEGV else ""
            return f"it was killed by signal {-code}{crash}"
        return f"it exited with code {code}" if code is not None else "it stopped answering"

    def stop(self) -> None:
        self._stop.set()


def report_unreadable(assignment: str, student: str, notebooks: list[str]) -> None:
    """Autograde's pre-convert hook: say plainly which submissions nbgrader will fail to read, and why."""
    from traitlets.log import get_logger

    for path in notebooks:
        try:
            nbformat.read(path, as_version=4)
        except Exception as exc:
            parts = Path(path).parts
            who = parts[-3] if len(parts) >= 3 else student
            get_logger().error(
                "[course] %s: %s is not a readable notebook (%s: %s). nbgrader cannot autograde it; the "
                "student's score for it is 0, as `course grade` gives. Ask for a new submission, or repair "
                "the file and run `nbgrader autograde %s --student %s --force`.",
                who, Path(path).name, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "",
                parts[-2] if len(parts) >= 2 else assignment, who)

