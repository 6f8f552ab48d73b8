"""Is `course`'s command line the contract the README promises: fast, exact about bad arguments, readable?"""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from grader import cli
from grader.engine import registry
from grader.engine.report import NO_CUDA, NO_GPU_LINE, CheckResult, Report, render

KEYS = {"exercise", "check", "points", "max_points", "status", "device", "message"}


def _course(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd, env=env)


def _gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def test_grade_writes_the_json_contract_and_exits_zero(tmp_path):
    out = tmp_path / "report.json"
    submission = registry.course().lesson("lesson3").notebook("solutions")
    env = {**__import__("os").environ, "COLUMNS": "80"}
    done = _course("grade", "lesson3", "--submission", str(submission), "--json", str(out), "--public-only",
                   env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert set(report) == {"lesson", "score", "max_score", "sandbox", "sealed", "checks"}
    assert report["lesson"] == "lesson3"
    assert all(set(c) == KEYS for c in report["checks"])
    assert report["score"] == sum(c["points"] for c in report["checks"]) == report["max_score"]
    assert {c["status"] for c in report["checks"]} <= {"passed", "skipped"}
    assert "lesson3:" in done.stdout and "seed_example" in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= 80  # COLUMNS is honoured
    if not _gpu():  # the JSON keeps every CUDA row; the table folds them into one line
        cuda = [c for c in report["checks"] if c["device"] == "cuda"]
        assert cuda and all(c["status"] == "skipped" and c["max_points"] == 0 for c in cuda)
        assert done.stdout.count(NO_GPU_LINE) == 1 and NO_CUDA not in done.stdout and " cuda " not in done.stdout


def test_grade_exits_zero_on_a_zero_score(tmp_path):
    """...and its quick exit (no teardown of torch's modules) still cleans up: no temporary folder, no
    forkserver or child is left, and the whole report reaches the pipe."""
    out = tmp_path / "report.json"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**__import__("os").environ, "TMPDIR": str(scratch), "COLUMNS": "100"}
    done = _course("grade", "lesson3", "--json", str(out), "--public-only", env=env)  # the stub notebook
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["score"] == 0
    assert any(line.startswith("sandbox: ") for line in done.stdout.splitlines()[-3:]), done.stdout[-500:]
    assert not list(scratch.iterdir()), "left behind: " + ", ".join(p.name for p in scratch.iterdir())
    leftovers = subprocess.run(["pgrep", "-f", str(scratch)], capture_output=True, text=True).stdout.split()
    assert not leftovers, f"processes left running: {leftovers}"


def test_unknown_lesson_is_a_usage_error():
    done = _course("grade", "lesson42")
    assert done.returncode == 2
    assert "unknown lesson 'lesson42'" in done.stderr


def test_missing_submission_is_one_line_and_a_usage_error(tmp_path):
    out = tmp_path / "r.json"
    missing = tmp_path / "missing.ipynb"
    done = _course("grade", "lesson3", "--submission", str(missing), "--json", str(out))
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()  # "course grade: ..." ("python -m grader grade: ..." here)
    assert line.endswith(f"grade: {missing} does not exist")
    assert not out.exists()


def test_broken_submission_is_still_graded_zero_with_a_report(tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("not a notebook {")
    out = tmp_path / "r.json"
    done = _course("grade", "lesson3", "--submission", str(broken), "--json", str(out), "--public-only")
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    judged = [c for c in report["checks"] if c["status"] != "skipped"]
    assert report["score"] == 0 and judged
    assert all("not a readable notebook" in c["message"] for c in judged)
    assert "lesson3: 0 /" in done.stdout


def test_json_into_a_missing_folder_is_refused(tmp_path):
    out = tmp_path / "no" / "such" / "folder" / "out.json"
    submission = registry.course().lesson("lesson3").notebook("solutions")
    done = _course("grade", "lesson3", "--submission", str(submission), "--json", str(out))
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.endswith(f"grade: --json {out}: the folder {out.parent} does not exist")
    assert not (tmp_path / "no").exists()


def test_list_shows_every_lesson_in_80_columns():
    done = _course("list")
    assert done.returncode == 0
    assert all(f"lesson{i}" in done.stdout for i in range(1, 9))
    assert max(len(line) for line in done.stdout.splitlines()) <= 80
    names = {w.strip(",") for line in done.stdout.splitlines() for w in line.split()}
    assert {e.name for e in registry.course().lesson("lesson7").exercises} <= names


# Fast commands: proven by what they import, not by a clock (the machine may be loaded).
_PROBE = """import sys
from grader.cli import main
try:
    main(sys.argv[1:], prog_name="course")
finally:
    print("torch imported" if "torch" in sys.modules else "torch not imported", file=sys.stderr)
"""


@pytest.mark.parametrize("args, code", [
    (["--help"], 0),
    (["list"], 0),
    (["grade", "--help"], 0),
    (["grdae", "lesson3"], 2),  # a typo'd command
    (["grade", "lesson3", "--bogus"], 2),  # a bad option
    (["grade", "lesson42"], 2),
    (["grade", "lesson3", "--submission", "missing.ipynb"], 2),
    (["grade", "lesson3", "--json", "/nonexistent/dir/out.json"], 2),
], ids=lambda x: " ".join(x) if isinstance(x, list) else None)
def test_fast_commands_do_not_import_torch(args, code):
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=120,
                          cwd=registry.ROOT)
    assert done.returncode == code, done.stderr
    assert done.stderr.splitlines()[-1] == "torch not imported", done.stderr


def test_a_lesson_without_exercises_says_so(monkeypatch):
    lesson = registry.LessonSpec(id="lesson99", title="Later", chapter="99", exercises=(), load_timeout_s=60,
                                 memory_mb=1024, threads=1)
    fake = registry.Course(name="fake", lessons=(lesson,), path=registry.COURSE_FILE)
    monkeypatch.setattr(cli, "_specs", lambda: fake)
    done = CliRunner().invoke(cli.main, ["grade", "lesson99"])
    assert done.exit_code == 0, done.output
    assert done.output == "lesson99 has no exercises yet\n"
    listed = CliRunner().invoke(cli.main, ["list"])
    assert listed.output == "lesson99  Later  (no exercises yet)\n"


def test_list_and_grade_agree_on_points(graded):
    """`course list` gives the points a grade can earn without a GPU and with one; the grade's "/ N" is one of
    them, whichever this machine is (the stub errs on every judged row, so nothing is inconclusive)."""
    lesson = registry.course().lesson("lesson3")
    cpu, gpu = cli.points(lesson)
    assert gpu == 2 * cpu > 0  # lesson 3's checks all run on both devices
    line = next(x for x in CliRunner().invoke(cli.main, ["list"]).output.splitlines() if x.startswith("lesson3 "))
    assert line.endswith(f"  ({cpu:g} pts on CPU, {gpu:g} with a GPU)")
    report = graded("lesson3", "stub")
    assert report.max_score == (gpu if _gpu() else cpu)
    console = _console(120)
    render(report, console)
    assert console.file.getvalue().splitlines()[0] == f"lesson3: 0 / {report.max_score:g} points"


def _console(width: int):
    from rich.console import Console

    return Console(file=io.StringIO(), width=width, color_system=None, highlight=False)


MESSAGES = [
    "for a [1], b [1], Merge(1, 1, 1, activation=none): your code raised NotImplementedError: lesson3: "
    "Merge.__init__ (at cell 11, line 24: `raise NotImplementedError(\"lesson3: Merge.__init__\")`)",
    "matches the concatenate-then-Linear definition on the lesson's example",
    "43.2x faster than repeat + cat (submission 1.308 ms, repeat + cat 56.52 ms, timed by the grader; "
    "needs >= 15x)",
    "not awarded: speed points need right values, and Merge fails seed_example on cpu (wrong values: max "
    "abs error 0.75 at index [0, 3]; expected concatenate-then-Linear). Fix the values first.",
    "ok",
]


def _report() -> Report:
    rows = []
    for i, message in enumerate(MESSAGES):
        status = ("failed", "passed", "passed", "failed", "error")[i]
        rows.append(CheckResult("Merge", f"check_number_{i}", "cpu", status, 1.0 * (status == "passed"), 1.0,
                                message))
        rows.append(CheckResult("Merge", f"check_number_{i}", "cuda", "skipped", 0.0, 0.0, NO_CUDA))
    rows.append(CheckResult("total_scores", "a_rather_long_check_name_here", "cpu", "skipped", 0.0, 0.0,
                            "skipped: inconclusive here"))
    return Report("lesson3", rows, sandbox="sealed: landlock ABI 7 (files, network, signals), rlimits, own "
                                           "session, pid+net namespaces, private /dev/shm")


@pytest.mark.parametrize("width", [80, 100])
def test_report_fits_the_terminal_without_breaking_words(width):
    console = _console(width)
    render(_report(), console)
    lines = console.file.getvalue().splitlines()
    assert max(len(line) for line in lines) <= width
    assert all(line == line.rstrip() for line in lines)
    words = {w for line in lines for w in line.split()}
    assert all(w in words for m in MESSAGES for w in m.split())  # each word whole on one line
    assert lines[0] == "lesson3: 2 / 5 points (1 check inconclusive here, not counted)"


def test_cuda_rows_without_a_gpu_collapse_into_one_line_but_stay_in_the_json():
    report = _report()
    console = _console(80)
    render(report, console)
    text = console.file.getvalue()
    assert text.count(NO_GPU_LINE) == 1 and NO_CUDA not in text and "cuda" not in text
    assert "skipped: inconclusive here" in text  # other skips are still shown, one by one
    rows = report.to_json()["checks"]
    assert len(rows) == len(report.results)
    assert [c["status"] for c in rows if c["device"] == "cuda"] == ["skipped"] * len(MESSAGES)
