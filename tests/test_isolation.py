"""Do faulty submissions cost only the affected checks, with a message, and still yield a report?"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import row
from tests.mutants import compose

LESSON = "lesson3"
MERGE_CHECKS = ("seed_example", "gradients", "no_tiled_intermediate")
TOTAL_SCORES_CHECKS = ("per_example_values", "singleton_dims", "matches_oracle", "gradients")
SUBSET = MERGE_CHECKS + TOTAL_SCORES_CHECKS  # a fault costs seconds per check: grade a sample


def _total_scores_still_graded(report) -> None:
    for check in TOTAL_SCORES_CHECKS:
        assert row(report, "total_scores", check).status == "passed"


def test_hang_costs_only_the_hanging_checks(graded):
    report = graded(LESSON, "hang_in_forward.py", timeout_s=3, checks=SUBSET)
    for check in MERGE_CHECKS:
        result = row(report, "Merge", check)
        assert result.status == "error" and "timed out after 3 s" in result.message
    _total_scores_still_graded(report)


def test_exception_at_import_costs_only_the_missing_names(graded):
    report = graded(LESSON, "raise_at_import.py", checks=SUBSET)
    result = row(report, "Merge", "seed_example")
    assert result.status == "error"
    assert "`Merge` is not defined" in result.message
    assert "RuntimeError: leftover debugging code" in result.message
    _total_scores_still_graded(report)


def test_memory_blowup_is_stopped_and_reported(graded):
    report = graded(LESSON, "memory_blowup.py", checks=SUBSET)
    result = row(report, "Merge", "seed_example")
    assert result.status == "error" and "memory" in result.message
    _total_scores_still_graded(report)


def test_crash_of_the_child_is_reported_and_grading_goes_on(graded):
    report = graded(LESSON, "crash_in_forward.py", checks=SUBSET)
    result = row(report, "Merge", "seed_example")
    assert result.status == "error" and "exited with code 3" in result.message
    _total_scores_still_graded(report)


def test_unreadable_notebook_still_gets_a_report(tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [')
    out = tmp_path / "report.json"
    done = subprocess.run([sys.executable, "-m", "grader", "grade", LESSON, "--submission", str(broken),
                           "--json", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    judged = [c for c in report["checks"] if c["status"] != "skipped"]
    assert report["score"] == 0 and judged
    assert all("not a readable notebook" in c["message"] for c in judged)


def test_hang_while_loading_is_reported(tmp_path):
    from grader.engine.grading import grade

    path = tmp_path / "loops.py"
    path.write_text("while True:\n    pass\n")
    report = grade(LESSON, path, checks=["seed_example", "per_example_values"], timeout_s=2)
    assert [r.status for r in report.results if r.device == "cpu"] == ["error", "error"]
    assert all("cell" in r.message or "loading" in r.message for r in report.results if r.device == "cpu")


def test_composed_submission_puts_the_mutant_last(tmp_path):
    text = compose(LESSON, "sum_without_dim.py", tmp_path).read_text()
    assert text.index("class Merge") < text.index("torch.sum(item_scores)")


def test_a_poisoned_cuda_context_gets_a_fresh_child_for_the_next_check(tmp_path):
    """After a device-side assert the child's CUDA context is unusable: the next check must not inherit it."""
    from grader.engine.grading import grade

    path = tmp_path / "poison.py"
    path.write_text(
        "import os\n"
        "def total_scores(item_scores, bias):\n"
        "    if os.environ.get('POISONED'):\n"
        "        raise RuntimeError('still in the poisoned process')\n"
        "    os.environ['POISONED'] = '1'\n"
        "    raise RuntimeError('CUDA error: device-side assert triggered')\n"
    )
    report = grade(LESSON, path, checks=["per_example_values", "singleton_dims"])
    first, second = (r for r in report.results if r.device == "cpu")
    assert "device-side assert" in first.message
    assert "device-side assert" in second.message  # a fresh child: not "still in the poisoned process"


def test_files_a_submission_writes_stay_in_its_private_folder(tmp_path, monkeypatch):
    """A submission that writes `hypothesis.py` must not get it imported by the judge."""
    from grader.engine.grading import grade

    monkeypatch.chdir(tmp_path)
    path = tmp_path / "writer.py"
    path.write_text("open('hypothesis.py', 'w').write('raise SystemExit(\"forged\")')\n"
                    "def total_scores(item_scores, bias):\n"
                    "    return item_scores.squeeze(-1).sum(dim=1) + bias\n")
    report = grade(LESSON, path, checks=["matches_oracle"])
    assert not (tmp_path / "hypothesis.py").exists()
    assert [r.status for r in report.results if r.device == "cpu"] == ["passed"]


def test_grading_many_times_in_one_process_leaks_no_file_descriptor_thread_or_file(tmp_path, monkeypatch):
    """A Dask worker or the nbgrader judge grades hundreds of submissions in one process: each grade (here a
    speed check, which also starts the clean baseline child) must leave no fd, thread or temporary file.
    (Each runner once kept its log file's descriptor: a class of ~500 reached `ulimit -n`.)"""
    import os
    import tempfile
    import threading

    from grader.engine.grading import grade
    from grader.engine.registry import course

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    path = course().lesson("lesson4").notebook("solutions")

    def once() -> None:
        report = grade("lesson4", path, checks=("speed_vs_loop",))
        assert [r.status for r in report.results if r.device == "cpu"] == ["passed"], report.results

    once()  # the forkserver and first-use imports
    fds, threads = len(os.listdir("/proc/self/fd")), threading.active_count()
    for _ in range(4):
        once()
    assert len(os.listdir("/proc/self/fd")) == fds, sorted(os.readlink(f"/proc/self/fd/{fd}")
                                                          for fd in os.listdir("/proc/self/fd")
                                                          if os.path.exists(f"/proc/self/fd/{fd}"))
    assert threading.active_count() == threads
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith("grader-")]
