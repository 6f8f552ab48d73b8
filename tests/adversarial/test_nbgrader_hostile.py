"""Real `nbgrader autograde` with a hostile student (file writes, a detached process rewriting files) graded
before an honest one (the reference answers): the honest student must still get full marks in grades.csv.

The kernel that fills the notebook's outputs starts sealed (grader.integrations.sealed_kernel): it may write
only its own notebook folder. Run as the README says, inside `unshare --user --map-root-user --pid --fork
--kill-child`, nothing the kernel started outlives autograde either; the grade comes from the sealed judge."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.adversarial.test_adversarial import CANARIES, Guard, listener  # noqa: F401  (the fixture)

LESSON = "lesson3"
BIN = Path(sys.executable).parent

HOSTILE_CELL = '''
import pathlib
import pickle
import torch.utils.collect_env

_repo = pathlib.Path(torch.__file__).resolve().parents[5]
_canary = _repo / "tests" / "adversarial" / "_canary" / "target.txt"
try:
    _canary.write_text("advpwn from the kernel")
except Exception:
    pass
try:
    pathlib.Path("/tmp/advpwn_nbgrader.txt").write_text("advpwn")
except Exception:
    pass
try:  # a detached shell that outlives the kernel and tampers with the honest student's files
    torch.utils.collect_env.run(
        "setsid nohup sh -c 'sleep 2; for f in ../../zzz_honest/lesson3/*.ipynb; do echo advpwn > \\"$f\\"; done; "
        "exec sleep 987654' >/dev/null 2>&1 < /dev/null &")
except Exception:
    pass
'''


SEALED_CLASS = ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--kill-child"]


def _nbgrader(root: Path, *args: str, prefix: list[str] | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run([*(prefix or []), str(BIN / "nbgrader"), *args], cwd=root, env=env, capture_output=True,
                          text=True, timeout=600)


def _answered(nb: dict) -> None:
    from tests.adversarial.test_adversarial import course

    solutions = json.loads(course().lesson(LESSON).notebook("solutions").read_text())
    by_id = {c["metadata"].get("nbgrader", {}).get("grade_id"): c for c in nb["cells"]}
    for cell in solutions["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            by_id[meta["grade_id"]]["source"] = cell["source"]


@pytest.mark.slow
def test_hostile_student_before_an_honest_one(tmp_path, listener):  # noqa: F811 - the fixture imported above
    guard = Guard(listener)
    root = tmp_path / "course"
    done = subprocess.run([sys.executable, "-m", "grader", "nbgrader", "init", str(root)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    done = _nbgrader(root, "generate_assignment", LESSON)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    released = json.loads((root / "release" / LESSON / f"{LESSON}.ipynb").read_text())
    for student, hostile in (("aaa_hostile", True), ("zzz_honest", False)):
        nb = json.loads(json.dumps(released))
        _answered(nb)
        if hostile:
            merge = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "Merge")
            source = "".join(merge["source"]) if isinstance(merge["source"], list) else merge["source"]
            merge["source"] = source + "\n\n" + HOSTILE_CELL
        path = root / "submitted" / student / LESSON / f"{LESSON}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(nb))
    if shutil.which("unshare") is None or subprocess.run([*SEALED_CLASS, "true"]).returncode != 0:
        pytest.skip("unshare (user and pid namespaces) is not available here")
    autograde = _nbgrader(root, "autograde", LESSON, "--CourseExecute.grade_timeout_s=10", prefix=SEALED_CLASS)
    log = autograde.stdout + autograde.stderr
    export = _nbgrader(root, "export")
    assert export.returncode == 0, export.stdout[-2000:] + export.stderr[-2000:]
    with open(root / "grades.csv", newline="") as table:
        rows = {r["student_id"]: r for r in csv.DictReader(table) if r["assignment"] == LESSON}
    problems = guard.problems(3.0)
    honest = rows["zzz_honest"]
    assert float(honest["score"]) == float(honest["max_score"]) > 0, (rows, log[-3000:])
    assert float(rows["aaa_hostile"]["score"]) <= float(honest["max_score"])
    assert not problems, problems
    assert not Path("/tmp/advpwn_nbgrader.txt").exists()
    assert all(path.read_text() == text for path, text in CANARIES.items())
