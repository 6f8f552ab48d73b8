"""Do the student's tools tell the truth: Validate, `course status`, `course hint`, `course reset`, `course watch`?

Most tests work on a copy of lesson 3 in a temporary course root (registry.ROOT patched, COURSE_PROGRESS set),
so the repository's notebooks and progress file are never touched. Grading runs only where a tool runs checks.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
import yaml
from click.testing import CliRunner

from grader import cli
from grader.engine import registry
from grader.engine.report import CheckResult, Report
from grader.student import notebooks, progress
from grader.student.watch import STOPPED, wanted

LESSON = "lesson3"
REPO = registry.ROOT  # the tests below move registry.ROOT to a temporary course
BIN = Path(sys.executable).parent
COURSE = registry.load(verify_implementations=False)


def _solutions() -> dict[str, str]:
    nb = nbformat.read(REPO / "solutions" / LESSON / f"{LESSON}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution")}


def _answer(path: Path, exercises: tuple[str, ...] = ("Merge", "total_scores")) -> None:
    """Fill exercises' cells of the notebook at `path` with the reference answers, as a student would."""
    nb = json.loads(path.read_text())
    answers = _solutions()
    for cell in nb["cells"]:
        if notebooks.grade_id(cell) in exercises:
            cell["source"] = answers[notebooks.grade_id(cell)]
    path.write_text(json.dumps(nb, indent=1))


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    """A course root holding lesson 3's student folder (as released) and no solutions/ (as a bundle)."""
    shutil.copytree(REPO / "exercises" / LESSON, tmp_path / "exercises" / LESSON)
    monkeypatch.setattr(registry, "ROOT", tmp_path)
    monkeypatch.setenv(progress.ENV, str(tmp_path / progress.FILE_NAME))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def full(root) -> Path:
    """The same with solutions/ (the full course)."""
    shutil.copytree(REPO / "solutions" / LESSON, root / "solutions" / LESSON)
    return root


def _course(*args: str) -> tuple[int, str]:
    done = CliRunner().invoke(cli.main, list(args), catch_exceptions=False)
    return done.exit_code, done.output


def _rows(exercise: str, failing: tuple[str, ...] = ()) -> list[CheckResult]:
    specs = [c for c in COURSE.lesson(LESSON).exercise(exercise).checks if c.public]
    rows = [CheckResult(exercise, c.name, "cpu", "failed" if c.name in failing else "passed", 0.0, c.points, "m")
            for c in specs]
    return rows + [CheckResult(exercise, c.name, "cuda", "skipped", 0, 0, "no GPU") for c in specs]


# -- a truthful Validate -----------------------------------------------------------------------------------
def test_check_prints_then_raises_one_line_and_records(root, capsys):
    from grader.selfcheck import ChecksFailed, check

    def total_scores(item_scores, bias):
        return item_scores.sum() + bias  # sums the whole batch

    with pytest.raises(ChecksFailed) as failed:
        check(total_scores)
    out = capsys.readouterr().out
    assert "[FAIL] total_scores.per_example_values (cpu)" in out  # the report comes first
    assert str(failed.value).startswith("total_scores: 2 of 2 public checks failed (per_example_values")
    (line,) = failed.value._render_traceback_()  # what IPython shows instead of a traceback
    assert "ChecksFailed" in line and "\n" not in line
    recorded = progress.exercise_record(progress.load(), LESSON, "total_scores")["public"]
    assert recorded["failing"] == ["per_example_values", "singleton_dims"] and recorded["by"] == "check"


def test_warnings_while_checking_go_to_stdout_not_stderr(root, capsys):
    """nbgrader scores a test cell with any stderr output 0: a passing check must not write there."""
    import warnings

    from grader.selfcheck import check

    def total_scores(item_scores, bias):
        warnings.warn("a noisy answer", UserWarning, stacklevel=1)
        return item_scores.squeeze(-1).sum(dim=1) + bias

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        check(total_scores)  # passes: no exception
    out, err = capsys.readouterr()
    assert "warning while checking: UserWarning: a noisy answer" in out and err == ""
    assert progress.exercise_record(progress.load(), LESSON, "total_scores")["public"]["failing"] == []


@pytest.mark.parametrize("lesson", [x for x in COURSE.lessons if x.exercises], ids=lambda x: x.id)
def test_check_cells_are_nbgrader_test_cells_that_run_all_goes_past(lesson):
    """Validate judges only nbgrader test cells: exercises/' check cells are, as in `course nbgrader init`."""
    from grader.authoring.stubs import RAISES_TAG
    from grader.integrations.nbgrader_course import source_notebook

    def tests(nb):
        return {c.metadata["nbgrader"]["grade_id"]: (c.metadata["nbgrader"], c.metadata["tags"]) for c in nb.cells
                if c.metadata.get("nbgrader", {}).get("grade")}

    student = tests(nbformat.read(lesson.notebook(), as_version=4))
    assert student == tests(source_notebook(lesson))
    assert set(student) == {f"test_{e.name}" for e in lesson.exercises}
    assert all(RAISES_TAG in tags and meta["points"] > 0 for meta, tags in student.values())


@pytest.mark.slow
def test_nbgrader_validate_fails_on_the_stubs_and_passes_on_the_reference(tmp_path):
    """The real `nbgrader validate` (what the Validate button runs) on lesson 3, both notebooks at once."""
    runs = {}
    for name in ("stub", "answered"):
        folder = tmp_path / name
        folder.mkdir()
        shutil.copy(COURSE.lesson(LESSON).notebook(), folder / f"{LESSON}.ipynb")
        if name == "answered":
            _answer(folder / f"{LESSON}.ipynb")
        env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                   **{progress.ENV: str(tmp_path / "progress.json")})
        runs[name] = subprocess.Popen([str(BIN / "nbgrader"), "validate", f"{LESSON}.ipynb"], cwd=folder, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = {name: run.communicate(timeout=300)[0] for name, run in runs.items()}
    assert "VALIDATION FAILED ON 2 CELL(S)" in out["stub"], out["stub"]
    assert "ChecksFailed: Merge: 4 of 4 public checks failed (seed_example" in out["stub"]
    assert "ChecksFailed: total_scores: 2 of 2 public checks failed" in out["stub"]
    assert "Traceback" not in out["stub"] and "Cell In[" not in out["stub"]  # one line per failed cell
    assert "Success! Your notebook passes all the tests." in out["answered"], out["answered"]


# -- course status ----------------------------------------------------------------------------------------
def test_status_reads_the_notebook_and_the_progress_file(root):
    code, out = _course("status", LESSON)
    assert code == 0
    assert "[ ] Merge" in out and "not started (stub: Merge.__init__, Merge.forward)" in out
    assert "0/2 exercises pass their public checks" in out
    flat = " ".join(out.split())  # the next step is wrapped at the terminal's width
    assert f"Next: {LESSON} Merge: write Merge.__init__, Merge.forward in exercises/{LESSON}/{LESSON}.ipynb" in flat

    _answer(root / "exercises" / LESSON / f"{LESSON}.ipynb", ("Merge",))
    out = _course("status", LESSON)[1]
    assert "[?] Merge" in out and "written, not checked yet" in out and "Next: check lesson3 Merge" in out

    progress.record_public(LESSON, _rows("Merge", failing=("broadcast_shapes",)), by="check")
    out = _course("status", LESSON)[1]
    assert "[!] Merge" in out and "failing 1 of 4 public checks (broadcast_shapes)" in out
    assert "Next: fix lesson3 Merge (broadcast_shapes)" in out and "course watch lesson3" in out

    progress.record_public(LESSON, _rows("Merge"), by="check")
    _answer(root / "exercises" / LESSON / f"{LESSON}.ipynb")
    progress.record_public(LESSON, _rows("total_scores"), by="check")
    out = _course("status", LESSON)[1]
    assert "[x] Merge" in out and "passing publicly (4/4), checked" in out
    assert "[########################] 2/2 exercises" in out and "Next: `course grade lesson3`" in out

    report = Report(LESSON, _rows("Merge") + _rows("total_scores"))
    progress.remember_grade(report, root / "elsewhere.ipynb", public_only=False)  # not the student's notebook
    assert "graded" not in _course("status", LESSON)[1]
    progress.remember_grade(report, root / "exercises" / LESSON / f"{LESSON}.ipynb", public_only=False)
    out = _course("status", LESSON)[1]
    assert f"(graded {report.score:g}/{report.max_score:g}," in out and "Every exercise passes" in out


def test_status_fits_80_columns_and_names_every_lesson(root, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    code, out = _course("status")
    assert code == 0 and max(map(len, out.splitlines())) <= 80, out
    assert all(lesson.id in out for lesson in COURSE.lessons)
    for lesson in COURSE.lessons:
        if not lesson.exercises:
            assert f"{lesson.id}  {lesson.title}  (no exercises yet)" in out


_PROBE = """import sys, time
start = time.perf_counter()
from grader.cli import main
try:
    main(sys.argv[1:], prog_name="course")
finally:
    took = time.perf_counter() - start
    print(f"torch {'imported' if 'torch' in sys.modules else 'not imported'} {took:.2f} s", file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["status"], ["status", LESSON], ["hint", LESSON, "Merge"], ["hint", "--help"],
                                  ["reset", "--help"], ["watch", "--help"], ["reset", LESSON, "Nope"]],
                         ids=" ".join)
def test_student_commands_answer_without_torch(args, tmp_path):
    env = dict(os.environ, **{progress.ENV: str(tmp_path / "progress.json")})
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=120,
                          cwd=REPO, env=env)
    assert done.returncode == (2 if "Nope" in args else 0), done.stderr
    assert done.stderr.splitlines()[-1].startswith("torch not imported"), done.stderr


@pytest.mark.slow
def test_status_check_runs_the_public_checks_and_records_them(root):
    _answer(root / "exercises" / LESSON / f"{LESSON}.ipynb", ("Merge",))
    code, out = _course("status", "--check", LESSON)
    assert code == 0, out
    assert "[x] Merge" in out and "passing publicly (4/4)" in out
    assert "[ ] total_scores" in out  # still the stub: not started, whatever a check says
    data = progress.load()
    assert progress.exercise_record(data, LESSON, "Merge")["public"]["by"] == "course status --check"
    assert progress.exercise_record(data, LESSON, "total_scores")["public"]["failing"] == ["per_example_values",
                                                                                           "singleton_dims"]


# -- course hint ------------------------------------------------------------------------------------------
def test_hints_come_one_more_per_call_and_are_recorded(root):
    hints = COURSE.lesson(LESSON).exercise("Merge").hints
    assert len(hints) >= 2
    outputs = [_course("hint", LESSON, "Merge")[1] for _ in range(len(hints) + 1)]
    for shown, out in enumerate(outputs[:-1], start=1):
        assert out.count("Hint ") == shown and f"Hint {shown}/{len(hints)}: " in out
    assert "again for the next one" in outputs[0]
    assert "That was the last hint" in outputs[-2] and "There are no more hints" in outputs[-1]
    assert progress.hints_shown(progress.load(), LESSON, "Merge") == len(hints)
    assert progress.hints_shown(progress.load(), LESSON, "total_scores") == 0
    code, out = _course("hint", LESSON, "Merj")
    assert code == 2 and "lesson3 has no exercise 'Merj'; its exercises: Merge, total_scores" in out


@pytest.mark.parametrize("lesson", ["lesson3", "lesson4", "lesson5", "lesson6", "lesson7", "lesson8"])
def test_every_exercise_of_the_finished_lessons_has_staged_hints(lesson):
    for exercise in COURSE.lesson(lesson).exercises:
        assert 2 <= len(exercise.hints) <= 4, exercise.name


def test_hints_in_course_yml_are_validated(tmp_path):
    data = yaml.safe_load(registry.COURSE_FILE.read_text())
    merge = next(e for x in data["lessons"] if x["id"] == LESSON for e in x["exercises"] if e["name"] == "Merge")
    for bad in ([1, "two"], "one string", [""]):
        merge["hints"] = bad
        (tmp_path / "course.yml").write_text(yaml.safe_dump(data))
        with pytest.raises(registry.RegistryError, match=r"lesson3\.Merge\.hints must be (a )?list"):
            registry.load(tmp_path / "course.yml", verify_implementations=False)


def test_solution_is_not_in_a_bundle(root):
    progress.record_public(LESSON, _rows("Merge"), by="check")
    code, out = _course("hint", LESSON, "Merge", "--solution")
    assert code == 1 and "not available in this copy of the course" in out and "nn.Linear(" not in out


@pytest.mark.slow
def test_solution_only_after_the_public_checks_pass(full):
    code, out = _course("hint", LESSON, "Merge", "--solution")  # nothing recorded: checks the stub now
    assert code == 1 and "Not yet: lesson3 Merge fails public checks (seed_example" in out
    assert "self.linear1" not in out
    progress.record_public(LESSON, _rows("Merge"), by="check")
    code, out = _course("hint", LESSON, "Merge", "--solution")
    assert code == 0 and "self.linear1 = nn.Linear(in_features1, out_features)" in out
    assert "### BEGIN SOLUTION" not in out and "check(Merge)" not in out


# -- course reset -----------------------------------------------------------------------------------------
def _backups(root: Path) -> list[Path]:
    return sorted((root / "exercises" / LESSON / ".backups").glob("*.ipynb"))


def test_reset_one_exercise_keeps_a_backup_and_the_other_answers(full):
    path = full / "exercises" / LESSON / f"{LESSON}.ipynb"
    released = path.read_bytes()
    _answer(path)
    nb = json.loads(path.read_text())
    nb["cells"].append(nbformat.v4.new_markdown_cell("my notes"))
    path.write_text(json.dumps(nb))
    before = path.read_bytes()
    progress.record_public(LESSON, _rows("Merge"), by="check")

    code, out = _course("reset", LESSON, "Merge")
    assert code == 0, out
    (kept,) = _backups(full)
    assert kept.read_bytes() == before and kept.name.startswith(f"{LESSON}-") and kept.name in out
    nb = notebooks.read(path)
    merge, scores = (notebooks.source(nb["cells"][notebooks.exercise_cells(nb, name)[0]])
                     for name in ("Merge", "total_scores"))
    assert notebooks.stubs_left(merge, LESSON) == ["Merge.__init__", "Merge.forward"]
    assert notebooks.stubs_left(scores, LESSON) == [] and "squeeze" in scores  # the other answer stays
    assert nb["cells"][-1]["source"] == "my notes"
    assert "public" not in progress.exercise_record(progress.load(), LESSON, "Merge")
    assert "Reload Notebook from Disk" in out

    code, out = _course("reset", LESSON)  # the whole notebook, as released
    assert code == 0 and path.read_bytes() == released
    assert len(_backups(full)) == 2  # a second backup; the first is never overwritten


def test_reset_puts_a_deleted_cell_back_in_place_from_the_bundles_pristine_copy(root):
    folder = root / "exercises" / LESSON
    (folder / ".pristine").mkdir()
    shutil.copy(folder / f"{LESSON}.ipynb", folder / ".pristine" / f"{LESSON}.ipynb")  # as a bundle ships it
    nb = json.loads((folder / f"{LESSON}.ipynb").read_text())
    index = notebooks.exercise_cells(nb, "total_scores")[0]
    del nb["cells"][index]
    (folder / f"{LESSON}.ipynb").write_text(json.dumps(nb))
    code, out = _course("reset", LESSON, "total_scores")
    assert code == 0, out
    restored = notebooks.read(folder / f"{LESSON}.ipynb")
    assert notebooks.exercise_cells(restored, "total_scores") == [index]
    assert [c.get("id") for c in restored["cells"]] == [c.get("id") for c in notebooks.read(
        folder / ".pristine" / f"{LESSON}.ipynb")["cells"]]


def test_reset_without_a_pristine_copy_changes_nothing(root):
    path = root / "exercises" / LESSON / f"{LESSON}.ipynb"
    _answer(path)
    before = path.read_bytes()
    code, out = _course("reset", LESSON)
    assert code == 1 and "no pristine copy of lesson3" in out
    assert path.read_bytes() == before and not _backups(root)


# -- course watch -----------------------------------------------------------------------------------------
def test_watch_reacts_to_the_notebook_and_py_files_beside_it_only(tmp_path):
    lesson = COURSE.lesson(LESSON)
    folders = {tmp_path: (lesson, tmp_path / f"{LESSON}.ipynb")}
    assert wanted(folders, str(tmp_path / f"{LESSON}.ipynb")) is not None
    assert wanted(folders, str(tmp_path / "helpers.py")) is not None
    assert wanted(folders, str(tmp_path / f".~{LESSON}.ipynb")) is None  # JupyterLab's temporary file
    assert wanted(folders, str(tmp_path / "other.ipynb")) is None
    assert wanted(folders, str(tmp_path / ".ipynb_checkpoints" / f"{LESSON}-checkpoint.ipynb")) is None


def _lines(stream, into: queue.Queue) -> None:
    for line in stream:
        into.put(line.rstrip("\n"))


def _wait_for(lines: queue.Queue, seen: list[str], text: str, deadline: float, poke=None, times: int = 1) -> None:
    while sum(text in line for line in seen) < times:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {text!r} in time; output so far:\n" + "\n".join(seen))
        if poke is not None:
            poke()
        try:
            seen.append(lines.get(timeout=1.0))
        except queue.Empty:
            pass


@pytest.mark.slow
@pytest.mark.parametrize("poll", [False, True], ids=["events", "polling"])
def test_watch_reruns_on_save_and_stops_cleanly_on_ctrl_c(tmp_path, poll):
    notebook = tmp_path / f"{LESSON}.ipynb"
    shutil.copy(COURSE.lesson(LESSON).notebook(), notebook)
    env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="100", **{progress.ENV: str(tmp_path / "progress.json")})
    args = [sys.executable, "-m", "grader", "watch", LESSON, "--submission", str(notebook)] + ["--poll"] * poll
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 180
        _wait_for(lines, seen, "watching lesson3.ipynb", deadline)
        assert any("lesson3: 0/6 public checks pass" in line for line in seen), seen
        last = [0.0]

        def save() -> None:  # until the watcher reacts (it may not be listening the very first instant)
            if time.monotonic() - last[0] > 2:
                notebook.write_bytes(notebook.read_bytes())
                last[0] = time.monotonic()

        _wait_for(lines, seen, "lesson3.ipynb saved: running the public checks", deadline, poke=save)
        _wait_for(lines, seen, "lesson3: 0/6 public checks pass", deadline, times=2)
        assert any("[FAIL] Merge: 0/4 public checks pass" in line for line in seen), seen
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        reader.join(timeout=10)
        proc.stdout.close()
        proc.stderr.close()
    while not lines.empty():
        seen.append(lines.get())
    assert proc.returncode == 0, err
    assert seen[-1] == STOPPED and err.strip() == "", err
