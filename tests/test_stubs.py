"""Are student notebooks generated from solutions/, in sync, with stubs that fail for their own exercise?"""

from __future__ import annotations

import subprocess
import sys

import pytest

from grader.authoring.stubs import MarkerError, build, clear_solutions
from grader.engine import registry
from grader.engine.submission import read_code, run_cells

SOURCE = '''class Merge:
    def forward(self, a):
        """Doc."""
        ### BEGIN SOLUTION
        return a + 1
        ### END SOLUTION

def helper():
    ### BEGIN SOLUTION
    pass
    ### END SOLUTION
'''


def test_regions_become_stubs_naming_their_function():
    out = clear_solutions(SOURCE, "lesson9")
    assert 'raise NotImplementedError("lesson9: Merge.forward")' in out
    assert 'raise NotImplementedError("lesson9: helper")' in out
    assert "return a + 1" not in out and "BEGIN" not in out
    compile(out, "stub", "exec")


@pytest.mark.parametrize("broken, problem", [
    ("### BEGIN SOLUTION\nx = 1\n", "never closed"),
    ("x = 1\n### END SOLUTION\n", "without a"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "inside the region"),
])
def test_unbalanced_markers_are_errors(broken, problem):
    with pytest.raises(MarkerError, match=problem):
        clear_solutions(broken, "lesson9", "nb cell 3")


def test_exercises_are_in_sync_with_solutions():
    lessons = [lesson for lesson in registry.course().lessons if lesson.exercises]
    stale = build(lessons, check_only=True)
    assert not stale, f"run `course build`: out of date: {stale}"


def test_generated_stub_imports_cleanly():
    for lesson in registry.course().lessons:
        if lesson.exercises:
            sub = run_cells(read_code(lesson.notebook("exercises")))
            assert not sub.problems
            for exercise in lesson.exercises:
                assert exercise.name in vars(sub.module)


def test_build_check_exits_nonzero_when_stale(tmp_path, monkeypatch):
    done = subprocess.run([sys.executable, "-m", "grader", "build", "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
