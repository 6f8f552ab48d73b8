"""Do the self-checks (notebook `check(obj)` and `pytest exercises/lessonN`) run the public checks?"""

from __future__ import annotations

import shutil
import subprocess
import sys

import nbformat
import pytest

from grader.engine import registry
from grader.engine.report import NO_CUDA, NO_GPU_LINE
from grader.engine.submission import describe_exception, read_code, run_cells
from grader.selfcheck import check, run_public


def _reference(lesson: str):
    return run_cells(read_code(registry.course().lesson(lesson).notebook("solutions"))).module


def test_check_in_notebook_passes_on_the_reference(capsys):
    check(_reference("lesson3").Merge)
    out = capsys.readouterr().out
    assert "[PASS] Merge.seed_example (cpu)" in out and "[FAIL]" not in out


def test_check_folds_cuda_rows_into_one_line_without_a_gpu(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: CUDA rows are checked for real")
    merge = _reference("lesson3").Merge
    public = [c for c in registry.course().lesson("lesson3").exercise("Merge").checks if c.public]
    cuda = [r for r in run_public(merge) if r.device == "cuda"]
    assert len(cuda) == len(public) and all(r.message == NO_CUDA for r in cuda)  # each row is still there
    check(merge)
    out = capsys.readouterr().out
    assert out.count(NO_GPU_LINE) == 1 and "[SKIP]" not in out and NO_CUDA not in out and "(cuda)" not in out
    assert f"{len(public)}/{len(public)} public checks passed." in out


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


KERNEL_CELLS = [
    "import torch\n\n\ndef total_scores(item_scores, bias):\n    scale = 2\n    raise ValueError('boom')\n",
    "import torch\n\n\nclass Merge(torch.nn.Module):\n    def __init__(self, *args, **kwargs):\n"
    "        raise ValueError('saved')\n",
    "from grader.selfcheck import check\n\ncheck(total_scores)",
    "check(Merge)",
]


def test_check_in_a_kernel_shows_the_location_course_grade_shows(tmp_path):
    """In Jupyter, cells compile under temporary file names; the self-check still says "cell N, line L" as
    `course grade` does for the saved notebook, and IPython's "In[N]" for a cell edited since the save."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A notebook")] + [nbformat.v4.new_code_cell(c) for c in KERNEL_CELLS]
    nb.cells[3].metadata["tags"] = ["selfcheck", "raises-exception"]  # check() raises after a failure
    nb.cells[4].metadata["tags"] = ["selfcheck", "raises-exception"]
    path = tmp_path / "lesson3.ipynb"
    nbformat.write(nb, path)
    expected = None
    try:  # the location `course grade` reports (its child runs the cells as read_code labels them)
        run_cells(read_code(path)).module.total_scores(None, None)
    except ValueError as exc:
        expected = describe_exception(exc)
    assert expected == "ValueError: boom (at cell 2, line 6: `raise ValueError('boom')`)"
    nb.cells[2].source = nb.cells[2].source.replace("'saved'", "'edited'")  # run, but not saved
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                   ).execute()
    saved, edited = ("".join(o.get("text", "") for o in c.outputs) for c in nb.cells[3:5])
    assert f"[FAIL] total_scores.per_example_values (cpu): your code raised {expected}" in saved
    assert "ValueError: edited (at cell In[2], line 6: `raise ValueError('edited')`)" in edited
