"""Does the course work as a real nbgrader course, graded exactly as `course grade` grades?

One run of the real nbgrader CLI (module fixture): `course nbgrader init` → generate_assignment lesson3
→ submissions (the reference, the stub, a mutant, and faulty ones) → autograde → export → feedback.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

from grader.authoring.stubs import student_notebook
from grader.engine.grading import grade
from grader.engine.registry import course
from grader.engine.report import CheckResult, Report
from grader.engine.submission import read_code
from grader.integrations.nbgrader_cell import cell_grade, hidden_part, parse_call
from grader.integrations.nbgrader_course import WARNING_PATTERN, source_notebook
from tests.mutants import SUBMISSIONS

LESSON = "lesson3"
TIMEOUT_S = 10  # CourseExecute.grade_timeout_s and `course grade --timeout`: a hanging cell costs 10 s, not 60
KERNEL_MB = 512  # CourseExecute.kernel_memory_mb: the kernel is stopped at 512 MiB + 1 GiB, not course.yml's 2 GiB + 1
BIN = Path(sys.executable).parent


# -- submissions ----------------------------------------------------------------------------------------
def _cell(nb: dict, grade_id: str) -> dict:
    return next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


def _index(nb: dict, grade_id: str) -> int:
    return nb["cells"].index(_cell(nb, grade_id))


def _append(nb: dict, grade_id: str, code: str) -> None:
    cell = _cell(nb, grade_id)
    cell["source"] = _text(cell["source"]) + "\n\n" + code


def _text(source: str | list[str]) -> str:
    return "".join(source) if isinstance(source, list) else source


def _insert_after(nb: dict, grade_id: str, code: str) -> None:
    nb["cells"].insert(_index(nb, grade_id) + 1, dict(nbformat.v4.new_code_cell(code)))


def _answered(nb: dict) -> None:
    """Fill the solution cells with the reference answers, as a student who got everything right."""
    solutions = nbformat.read(course().lesson(LESSON).notebook("solutions"), as_version=4)
    for cell in solutions.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            _cell(nb, meta["grade_id"])["source"] = cell.source


def _mutant(name: str) -> str:
    return (SUBMISSIONS / LESSON / name).read_text()


def reference(nb):
    _answered(nb)


def stub(nb):
    pass


def mutant(nb):  # tiles b with repeat + cat: loses no_tiled_intermediate and the speed check
    _answered(nb)
    _append(nb, "Merge", _mutant("repeat_cat.py"))


def kernel_dies(nb):  # an extension crashing at import kills the kernel (and the grader's child)
    _answered(nb)
    _insert_after(nb, "Merge", "import faulthandler\n\nfaulthandler._sigsegv()  # segfaults")


def memory(nb):  # 8 GiB buffers: in Merge.forward, and at top level (which exhausts the kernel)
    _answered(nb)
    _append(nb, "Merge", "class Merge(Merge):\n    def forward(self, a, b):\n"
                         "        scratch = torch.empty(2**31).fill_(0)  # 8 GiB\n"
                         "        return super().forward(a, b)")
    _append(nb, "total_scores", "cache = torch.empty(2**31).fill_(0)  # 8 GiB")


def hangs(nb):  # a leftover endless loop at top level
    _answered(nb)
    _insert_after(nb, "total_scores", "steps = 0\nwhile True:\n    steps += 1")


def edited_cells(nb):  # deleted, duplicated and edited locked cells
    _answered(nb)
    text = [c for c in nb["cells"] if c["cell_type"] == "markdown"]
    demos = [c for c in nb["cells"] if "demo" in c["metadata"].get("tags", [])]
    text[1]["source"] = "I rewrote the lesson."
    demos[1]["source"] = "raise RuntimeError('edited demo')"
    _cell(nb, "test_total_scores")["source"] = "print('all checks passed')"
    for duplicated in ("total_scores", "test_total_scores"):
        copy = json.loads(json.dumps(_cell(nb, duplicated)))
        copy["id"] = copy["id"] + "-copy"
        nb["cells"].insert(_index(nb, duplicated), copy)
    for deleted in (_cell(nb, "test_Merge"), demos[0], text[0]):
        nb["cells"] = [c for c in nb["cells"] if c is not deleted]


def cell_type_changed(nb):  # the total_scores answer and the Merge test cell turned into markdown
    _answered(nb)
    for grade_id in ("total_scores", "test_Merge"):
        cell = _cell(nb, grade_id)
        cell["cell_type"] = "markdown"
        del cell["outputs"], cell["execution_count"]


def stderr_warnings(nb):  # torch warnings on stderr, in the kernel and in the grader's child
    _answered(nb)
    _append(nb, "Merge", "torch.tensor(torch.ones(2))  # UserWarning: To copy construct from a tensor...")
    _append(nb, "total_scores", "import sys\n\nprint('UserWarning: noisy', file=sys.stderr)")


def forger(nb):  # replaces the grader inside the kernel, hoping the test cells call it there
    _append(nb, "Merge", "import grader.integrations.nbgrader_cell\nimport grader.selfcheck\n\n"
                         "grader.integrations.nbgrader_cell.grade_cell = lambda *args: 14.0\n"
                         "grader.selfcheck.check = lambda *args: print('all checks passed')")


STUDENTS: dict[str, Callable[[dict], None]] = {f.__name__: f for f in (
    reference, stub, mutant, kernel_dies, memory, hangs, edited_cells, cell_type_changed, stderr_warnings,
    forger)}
UNREADABLE = "not_json"


# -- the nbgrader run -----------------------------------------------------------------------------------
@dataclasses.dataclass
class Run:
    root: Path
    logs: dict[str, str]
    seconds: dict[str, float]
    grades: dict[str, float]
    expected: dict[str, float]
    max_score: float

    def notebook(self, folder: str, student: str) -> dict:
        return json.loads((self.root / folder / student / LESSON / f"{LESSON}.ipynb").read_text())


def _nbgrader(root: Path, *args: str, seconds: dict[str, float], logs: dict[str, str],
              ok: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    start = time.monotonic()
    done = subprocess.run([str(BIN / "nbgrader"), *args], cwd=root, env=env, capture_output=True, text=True,
                          timeout=900)
    seconds[args[0]] = time.monotonic() - start
    logs[args[0]] = done.stdout + done.stderr
    if ok:
        assert done.returncode == 0, logs[args[0]][-3000:]
    return done


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    root = tmp_path_factory.mktemp("nbgrader-course")
    seconds: dict[str, float] = {}
    logs: dict[str, str] = {}
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "grader", "nbgrader", "init", str(root)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    seconds["init"] = time.monotonic() - start
    _nbgrader(root, "generate_assignment", LESSON, seconds=seconds, logs=logs)
    released = json.loads((root / "release" / LESSON / f"{LESSON}.ipynb").read_text())
    code_of: dict[str, Path] = {}  # the notebook holding the code each student's grade must match
    for name, make in STUDENTS.items():
        nb = json.loads(json.dumps(released))
        make(nb)
        path = root / "submitted" / name / LESSON / f"{LESSON}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(nb))
        code_of[name] = path
    code_of["cell_type_changed"] = code_of["reference"]  # nbgrader restores the cells' types: the same code
    broken = root / "submitted" / UNREADABLE / LESSON / f"{LESSON}.ipynb"
    broken.parent.mkdir(parents=True)
    broken.write_text(code_of["reference"].read_text()[:5000])
    code_of[UNREADABLE] = broken

    autograde = _nbgrader(root, "autograde", LESSON, f"--CourseExecute.grade_timeout_s={TIMEOUT_S}",
                          f"--CourseExecute.kernel_memory_mb={KERNEL_MB}", seconds=seconds, logs=logs, ok=False)
    assert autograde.returncode == 1, logs["autograde"][-3000:]  # nbgrader's exit status: one notebook failed
    _nbgrader(root, "export", seconds=seconds, logs=logs)
    _nbgrader(root, "generate_feedback", LESSON, seconds=seconds, logs=logs)
    with open(root / "grades.csv", newline="") as table:
        rows = [row for row in csv.DictReader(table) if row["assignment"] == LESSON]
    grades = {row["student_id"]: float(row["score"]) for row in rows}
    max_score = {float(row["max_score"]) for row in rows}.pop()

    start = time.monotonic()
    reports: dict[str, float] = {}
    expected = {}
    for name, path in code_of.items():  # `course grade` on the same code; identical code is graded once
        try:
            key = hashlib.sha256(repr(read_code(path)).encode()).hexdigest()
        except ValueError:
            key = path.name + name
        if key not in reports:
            reports[key] = grade(LESSON, path, timeout_s=TIMEOUT_S).score
        expected[name] = reports[key]
    seconds["course grade"] = time.monotonic() - start
    print(f"nbgrader end to end: {', '.join(f'{k} {v:.1f} s' for k, v in seconds.items())}")
    return Run(root, logs, seconds, grades, expected, max_score)


# -- the tests ------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_released_notebook_is_the_exercises_notebook(run):
    released = json.loads((run.root / "release" / LESSON / f"{LESSON}.ipynb").read_text())["cells"]
    exercises = nbformat.read(course().lesson(LESSON).notebook("exercises"), as_version=4).cells
    assert [(c["cell_type"], _text(c["source"])) for c in released] == [(c.cell_type, c.source) for c in exercises]
    assert "HIDDEN" not in json.dumps(released) and "grade_cell" not in json.dumps(released)


@pytest.mark.slow
def test_test_cells_are_worth_the_exercises_points(run):
    source = json.loads((run.root / "source" / LESSON / f"{LESSON}.ipynb").read_text())
    for exercise in course().lesson(LESSON).exercises:
        meta = _cell(source, f"test_{exercise.name}")["metadata"]["nbgrader"]
        assert meta["points"] == sum(check.points for check in exercise.checks)
    assert run.max_score == sum(c.points for c in course().lesson(LESSON).checks)


@pytest.mark.slow
@pytest.mark.parametrize("student", [*STUDENTS, UNREADABLE])
def test_total_equals_course_grade_for_the_same_code(run, student):
    assert run.grades[student] == run.expected[student]


@pytest.mark.slow
def test_reference_earns_full_marks_and_the_stub_zero(run):
    assert run.grades["reference"] == run.max_score > 0
    assert run.grades["stub"] == 0
    assert 0 < run.grades["mutant"] < run.max_score
    assert run.grades["forger"] == 0


def _test_output(run: Run, student: str, exercise: str) -> str:
    cell = _cell(run.notebook("autograded", student), f"test_{exercise}")
    return "".join(_text(o.get("text", "")) for o in cell["outputs"])


@pytest.mark.slow
def test_dead_kernel_never_passes_the_remaining_tests(run):
    nb = run.notebook("autograded", "kernel_dies")
    died = [c for c in nb["cells"] if any(o.get("ename") == "DeadKernelError" for o in c.get("outputs", []))]
    assert len(died) == 1
    for exercise in ("Merge", "total_scores"):
        text = _test_output(run, "kernel_dies", exercise)
        assert "[PASS]" not in text and "killed by signal 11 while loading" in text
        assert "kernel died in cell" in text


@pytest.mark.slow
def test_memory_exhaustion_is_stopped_in_the_kernel_and_in_the_grader(run):
    text = _test_output(run, "memory", "Merge")
    assert "ran out of memory (limit 2048 MiB)" in text and f"used more than {KERNEL_MB} MiB" in text
    assert "[PASS] total_scores" in _test_output(run, "memory", "total_scores")


@pytest.mark.slow
def test_a_hanging_cell_is_interrupted_and_the_rest_graded(run):
    assert f"ran longer than {TIMEOUT_S} s" in _test_output(run, "hangs", "Merge")
    assert run.grades["hangs"] == run.max_score


@pytest.mark.slow
def test_deleted_duplicated_edited_and_retyped_cells_are_restored(run):
    assert run.grades["edited_cells"] == run.grades["cell_type_changed"] == run.max_score
    assert "[PASS]" in _test_output(run, "edited_cells", "Merge")  # the deleted test cell, put back


@pytest.mark.slow
def test_unreadable_notebook_gets_a_note_and_zero(run):
    assert re.search(rf"\[course\] {UNREADABLE}: {LESSON}.ipynb is not a readable notebook", run.logs["autograde"])
    assert run.grades[UNREADABLE] == 0


@pytest.mark.slow
def test_feedback_has_results_but_no_hidden_source(run):
    pages = {p.parent.parent.name: p.read_text() for p in (run.root / "feedback").glob(f"*/{LESSON}/*.html")}
    assert set(pages) == set(STUDENTS)
    hidden = ["HIDDEN TESTS", "grade_cell", "probe_", "@check", "expect_close", "record_ops", "median_times"]
    for student, page in pages.items():
        own = ["grade_cell"] if student == "forger" else []  # the forger's own cell names it
        assert not [word for word in hidden if word in page and word not in own], student
    assert "NotImplementedError" in pages["stub"] and "[PASS]" in pages["reference"]


def test_warning_pattern_matches_torch_warnings_only():
    warned = subprocess.run([sys.executable, "-c", "import torch; torch.tensor(torch.ones(2)); torch.ones(3, 4, 5).T"],
                            capture_output=True, text=True, timeout=120).stderr
    assert warned and re.search(WARNING_PATTERN, warned)
    cpp = "[W1123 14:05:12.345678000 Module.cpp:42] Warning: something deprecated (function operator())"
    assert re.search(WARNING_PATTERN, cpp)
    assert not re.search(WARNING_PATTERN, "Traceback (most recent call last):\nValueError: wrong shape")


# -- without nbgrader's CLI -----------------------------------------------------------------------------
@pytest.mark.parametrize("lesson", [x.id for x in course().lessons if x.exercises])
def test_released_cells_are_the_exercises_cells_for_every_lesson(lesson):
    """generate_assignment's clearing steps, applied here: the student notebook is exercises/'s."""
    from nbgrader.preprocessors import ClearHiddenTests

    from grader.integrations.nbgrader_pipeline import CourseClearSolutions

    spec = course().lesson(lesson)
    nb, resources = source_notebook(spec), {"nbgrader": {"assignment": lesson}}
    for step in (CourseClearSolutions(), ClearHiddenTests()):
        nb, resources = step.preprocess(nb, resources)
    assert [(c.cell_type, c.source) for c in nb.cells] == [(c.cell_type, c.source)
                                                           for c in student_notebook(spec).cells]


def test_hidden_part_only_calls_the_grader():
    text = hidden_part("lesson3", ["Merge"])
    assert parse_call(text) == ("lesson3", ("Merge",))
    code = [line for line in text.splitlines() if line and not line.startswith("###")]
    assert code == ["from grader.integrations.nbgrader_cell import grade_cell", 'grade_cell("lesson3", "Merge")']


def _rows(device: str, earned: list[float], status: str = "failed") -> list[CheckResult]:
    return [CheckResult("Merge", f"c{i}", device, "passed" if e else status, e, 2.0, "m")
            for i, e in enumerate(earned)]


def test_a_cell_earns_one_devices_worth_whatever_the_machine():
    cpu_only = Report("lesson3", _rows("cpu", [2, 0, 2]) + [
        CheckResult("Merge", f"c{i}", "cuda", "skipped", 0, 0, "skipped: no CUDA device") for i in range(3)])
    assert cell_grade(cpu_only, ("Merge",), 6.0).points == 4.0  # exactly `course grade`'s points
    with_gpu = Report("lesson3", _rows("cpu", [2, 0, 2]) + _rows("cuda", [2, 0, 0]))
    graded = cell_grade(with_gpu, ("Merge",), 6.0)
    assert graded.points == 3.0 and graded.max_points == 6.0  # 6 of 12 check points, scaled to the cell's 6
    nothing = Report("lesson3", [CheckResult("Merge", "c0", "cuda", "skipped", 0, 0, "no GPU")])
    assert cell_grade(nothing, ("Merge",), 6.0).points == 0


@pytest.mark.slow
def test_grade_cell_in_a_kernel_grades_the_notebook_beside_it(tmp_path):
    """Run in a kernel without CourseExecute (e.g. `nbgrader validate` of the source), the call still grades."""
    nbformat.write(source_notebook(course().lesson(LESSON)), tmp_path / f"{LESSON}.ipynb")
    code = ("from IPython.core.interactiveshell import InteractiveShell\nInteractiveShell.instance()\n"
            "from grader.integrations.nbgrader_cell import grade_cell\n"
            "print('points', grade_cell('lesson3', 'total_scores'))")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "points 5.0" in done.stdout and "[PASS] total_scores.gradients (cpu)" in done.stdout


# -- many students at once ------------------------------------------------------------------------------
PARALLEL = ("reference", "stub", "mutant", "edited_cells", "stderr_warnings", "forger", UNREADABLE)


@pytest.mark.slow
def test_parallel_autograde_gives_the_serial_grades_csv(run, tmp_path):
    """`course nbgrader autograde LESSON --jobs 2` on a copy of the class: nbgrader export's rows are the serial
    run's, column for column, and nbgrader's exit status (1: a notebook it could not read) comes through."""
    root = tmp_path / "course"
    done = subprocess.run([sys.executable, "-m", "grader", "nbgrader", "init", str(root)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    seconds: dict[str, float] = {}
    logs: dict[str, str] = {}
    _nbgrader(root, "generate_assignment", LESSON, seconds=seconds, logs=logs)
    for student in PARALLEL:
        shutil.copytree(run.root / "submitted" / student, root / "submitted" / student)
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "grader", "nbgrader", "autograde", LESSON, "--jobs", "2",
                           f"--CourseExecute.grade_timeout_s={TIMEOUT_S}",
                           f"--CourseExecute.kernel_memory_mb={KERNEL_MB}"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=900)
    print(f"parallel autograde of {len(PARALLEL)}: {time.monotonic() - start:.1f} s\n{done.stdout}")
    assert done.returncode == 1, done.stdout + done.stderr  # the unreadable notebook, as in the serial run
    assert done.stdout.count("students done") == 2, done.stdout
    assert sorted((root / "autograde-logs").glob(f"{LESSON}-*.log")) and \
        "Skipping" not in "".join(p.read_text() for p in (root / "autograde-logs").glob("*.log"))
    _nbgrader(root, "export", seconds=seconds, logs=logs)

    def rows(folder: Path) -> dict[str, dict[str, str]]:
        with open(folder / "grades.csv", newline="") as table:
            return {r["student_id"]: r for r in csv.DictReader(table)
                    if r["assignment"] == LESSON and r["student_id"] in PARALLEL}

    parallel, serial = rows(root), rows(run.root)
    assert set(parallel) == set(PARALLEL)
    assert parallel == serial
    assert float(parallel["reference"]["score"]) == run.max_score and float(parallel["stub"]["score"]) == 0
