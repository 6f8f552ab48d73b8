"""Is `course grade`'s command line and JSON the contract the README promises?"""

from __future__ import annotations

import json
import subprocess
import sys

from grader.engine import registry

KEYS = {"exercise", "check", "points", "max_points", "status", "device", "message"}


def _course(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True,
                          timeout=600, cwd=cwd)


def test_grade_writes_the_json_contract_and_exits_zero(tmp_path):
    out = tmp_path / "report.json"
    submission = registry.course().lesson("lesson3").notebook("solutions")
    done = _course("grade", "lesson3", "--submission", str(submission), "--json", str(out), "--public-only")
    assert done.returncode == 0, done.stderr
    report = json.loads(out.read_text())
    assert set(report) == {"lesson", "score", "max_score", "sandbox", "sealed", "checks"}
    assert report["lesson"] == "lesson3"
    assert all(set(c) == KEYS for c in report["checks"])
    assert report["score"] == sum(c["points"] for c in report["checks"]) == report["max_score"]
    assert {c["status"] for c in report["checks"]} <= {"passed", "skipped"}
    assert "lesson3:" in done.stdout and "seed_example" in done.stdout


def test_grade_exits_zero_on_a_zero_score(tmp_path):
    out = tmp_path / "report.json"
    done = _course("grade", "lesson3", "--json", str(out), "--public-only")  # the stub notebook
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["score"] == 0


def test_unknown_lesson_is_a_usage_error():
    done = _course("grade", "lesson42")
    assert done.returncode != 0
    assert "unknown lesson 'lesson42'" in done.stderr


def test_missing_submission_file_still_reports(tmp_path):
    out = tmp_path / "r.json"
    done = _course("grade", "lesson3", "--submission", str(tmp_path / "nope.py"), "--json", str(out),
                   "--public-only")
    assert done.returncode == 0
    assert "no such file" in json.loads(out.read_text())["checks"][0]["message"]


def test_list_shows_every_lesson():
    done = _course("list")
    assert done.returncode == 0
    assert all(f"lesson{i}" in done.stdout for i in range(1, 9))
