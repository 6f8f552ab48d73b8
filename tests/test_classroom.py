"""Class grading: submissions found in both layouts, the same grades serially and on a Dask cluster of 2
workers on 127.0.0.1 (embedded, and reached by its scheduler address), one JSON and CSV per student."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from grader.classroom import gradebook, submissions
from grader.classroom.pool import grade_tasks
from grader.engine.registry import course
from tests.mutants import compose

LESSON = "lesson3"
CHECKS = ("seed_example", "broadcast_shapes", "activation_after_sum", "parameters_registered", "per_example_values",
          "singleton_dims", "matches_oracle")
MUTANTS = ("sum_without_dim.py", "only_3d.py", "constant_output.py")


@pytest.fixture(scope="module")
def klass(tmp_path_factory) -> Path:
    """Six students: references and mutants, as .ipynb in both layouts and as .py; one stray file."""
    root = tmp_path_factory.mktemp("class")
    build = tmp_path_factory.mktemp("mutants")
    reference = course().lesson(LESSON).notebook("solutions")
    for i in range(6):
        student = root / f"s{i}"
        student.mkdir()
        if i % 2 == 0:
            target = student / LESSON / f"{LESSON}.ipynb" if i == 2 else student / f"{LESSON}.ipynb"
            target.parent.mkdir(exist_ok=True)
            shutil.copy(reference, target)
        else:
            shutil.copy(compose(LESSON, MUTANTS[i // 2], build), student / f"{LESSON}.py")
    (root / "README.txt").write_text("not a student")
    return root


def test_submissions_are_found_in_both_layouts(klass):
    tasks, notes = submissions.find(klass, [LESSON, "lesson7"])
    assert [(t.student, t.lesson) for t in tasks] == [(f"s{i}", LESSON) for i in range(6)]
    assert tasks[2].path.endswith(f"s2/{LESSON}/{LESSON}.ipynb")
    assert any("README.txt" in note for note in notes)


def _scores(results) -> dict[str, tuple[float, list]]:
    return {t.student: (r["score"], [(c["check"], c["status"]) for c in r["checks"]]) for t, r in results}


@pytest.fixture(scope="module")
def serial(klass):
    tasks, _ = submissions.find(klass, [LESSON])
    return grade_tasks(tasks, jobs=1, checks=CHECKS)


def test_serial_grades_reference_full_and_mutants_less(serial):
    scores = _scores(serial)
    full = max(score for score, _ in scores.values())
    assert full > 0 and all(scores[f"s{i}"][0] == full for i in (0, 2, 4))
    assert all(scores[f"s{i}"][0] < full for i in (1, 3, 5))


def test_a_local_dask_cluster_of_two_workers_gives_the_serial_grades(klass, serial):
    tasks, _ = submissions.find(klass, [LESSON])
    done = []
    parallel = grade_tasks(tasks, jobs=2, checks=CHECKS, on_done=lambda t, r: done.append(t.student))
    assert sorted(done) == [f"s{i}" for i in range(6)]
    assert _scores(parallel) == _scores(serial)


def test_a_running_cluster_is_reached_by_its_scheduler_address(klass, serial):
    import dask
    from dask.distributed import LocalCluster

    tasks, _ = submissions.find(klass, [LESSON])
    with dask.config.set({"distributed.worker.daemon": False}):
        with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                          memory_limit=0) as cluster:
            assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
            remote = grade_tasks(tasks[:2], scheduler=cluster.scheduler_address, checks=CHECKS)
    assert _scores(remote) == {k: v for k, v in _scores(serial).items() if k in ("s0", "s1")}


def test_the_gradebook_has_one_json_and_csv_per_student_and_a_summary(serial, tmp_path):
    written = gradebook.write(tmp_path, serial)
    assert len(written) == 6 * 2 + 1
    reports = json.loads((tmp_path / "s1.json").read_text())
    assert isinstance(reports, list) and reports[0]["lesson"] == LESSON
    rows = list(csv.DictReader((tmp_path / "s1.csv").read_text().splitlines()))
    assert {r["check"] for r in rows} == set(CHECKS) and all(r["lesson"] == LESSON for r in rows)
    summary = list(csv.DictReader((tmp_path / "grades.csv").read_text().splitlines()))
    assert [r["student"] for r in summary] == [f"s{i}" for i in range(6)]
    assert {float(r["score"]) for r in summary} == {score for score, _ in _scores(serial).values()}


def _course(*args: str):
    from click.testing import CliRunner

    from grader.cli import main

    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("args", [["grade"], ["grade", "lesson3", "--all"], ["grade", "--all", "--submission", "x.py"]])
def test_grade_needs_one_lesson_or_all(args):
    result = _course(*args)
    assert result.exit_code == 2, result.output


def test_grade_class_refuses_a_folder_without_submissions(tmp_path):
    result = _course("grade-class", str(tmp_path))
    assert result.exit_code == 2 and "no submissions" in result.output


def test_grade_all_reference_writes_a_list_of_full_reports(tmp_path):
    """The instructor's smoke test after an install (public checks only here, to stay fast)."""
    out = tmp_path / "all.json"
    result = _course("grade", "--all", "--reference", "--public-only", "--json", str(out))
    assert result.exit_code == 0, result.output
    reports = json.loads(out.read_text())
    lessons = [x.id for x in course().lessons if x.exercises]
    assert [r["lesson"] for r in reports] == lessons
    assert all(r["score"] == r["max_score"] > 0 for r in reports), [(r["lesson"], r["score"]) for r in reports]
    assert "course: " in result.output
