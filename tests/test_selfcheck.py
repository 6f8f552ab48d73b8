"""Do the self-checks (notebook `check(obj)` and `pytest exercises/lessonN`) run the public checks?"""

from __future__ import annotations

import shutil
import subprocess
import sys

from grader.engine import registry
from grader.engine.submission import read_code, run_cells
from grader.selfcheck import check, run_public


def _reference(lesson: str):
    return run_cells(read_code(registry.course().lesson(lesson).notebook("solutions"))).module


def test_check_in_notebook_passes_on_the_reference(capsys):
    check(_reference("lesson3").Merge)
    out = capsys.readouterr().out
    assert "[PASS] Merge.seed_example (cpu)" in out and "[FAIL]" not in out


def test_check_in_notebook_names_the_mistake():
    def total_scores(item_scores, bias):
        return item_scores.sum() + bias

    results = {r.check: r for r in run_public(total_scores) if r.device == "cpu"}
    assert results["per_example_values"].status == "failed"
    assert "single number" in results["per_example_values"].message or \
        "summed without naming dim" in results["per_example_values"].message


def test_public_checks_only():
    hidden = {c.name for c in registry.course().lesson("lesson3").checks if not c.public}
    assert hidden and not hidden & {r.check for r in run_public(_reference("lesson3").Merge)}


def _pytest_on(notebook, tmp_path):
    """Run `pytest exercises/lesson3` against a copy of the exercises folder holding `notebook`."""
    root = registry.ROOT
    folder = tmp_path / "exercises" / "lesson3"
    shutil.copytree(root / "exercises" / "lesson3", folder)
    shutil.copy(notebook, folder / "lesson3.ipynb")
    shutil.copy(root / "pyproject.toml", tmp_path / "pyproject.toml")
    return subprocess.run([sys.executable, "-m", "pytest", "exercises/lesson3", "-q"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)


def test_pytest_exercises_fails_on_the_stub_with_clear_messages(tmp_path):
    lesson = registry.course().lesson("lesson3")
    done = _pytest_on(lesson.notebook("exercises"), tmp_path)
    assert done.returncode == 1
    assert "NotImplementedError: lesson3: Merge.__init__" in done.stdout
    assert "NotImplementedError: lesson3: total_scores" in done.stdout
    assert " passed" not in done.stdout.splitlines()[-1]


def test_pytest_exercises_passes_on_the_reference(tmp_path):
    lesson = registry.course().lesson("lesson3")
    done = _pytest_on(lesson.notebook("solutions"), tmp_path)
    assert done.returncode == 0, done.stdout[-2000:]
    assert "6 passed" in done.stdout


def test_in_process_probes_cannot_touch_the_judges_inputs():
    """Self-checks run student code in-process; it must see copies, as the isolated child does."""
    import torch

    from grader.engine.runners import InProcessRunner
    from grader.engine.submission import Submission

    def probe(sub, x):
        x.mul_(0)
        return x

    original = torch.ones(3)
    runner = InProcessRunner(Submission(__import__("types").ModuleType("m")))
    assert runner.call(probe, original).sum() == 0
    assert torch.equal(original, torch.ones(3))
