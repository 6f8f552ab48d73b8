"""Do the lesson notebooks run top to bottom in a real Jupyter kernel, self-checks included?"""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from grader.engine import registry

LESSONS = [lesson for lesson in registry.course().lessons if lesson.exercises]


def _execute(path, tmp_path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                   ).execute()
    return nb


def _outputs(nb: nbformat.NotebookNode, tag: str) -> list[str]:
    texts = []
    for cell in nb.cells:
        if cell.cell_type == "code" and tag in cell.metadata.get("tags", []):
            texts.append("".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream"))
    return texts


@pytest.mark.parametrize("lesson", LESSONS, ids=[x.id for x in LESSONS])
def test_solution_notebook_runs_and_passes_its_self_checks(lesson, tmp_path):
    nb = _execute(lesson.notebook("solutions"), tmp_path)
    checks = _outputs(nb, "selfcheck")
    assert checks and all("[PASS]" in text and "[FAIL]" not in text for text in checks), checks


@pytest.mark.parametrize("lesson", LESSONS, ids=[x.id for x in LESSONS])
def test_student_notebook_runs_and_its_self_checks_report_the_stubs(lesson, tmp_path):
    nb = _execute(lesson.notebook("exercises"), tmp_path)  # raises if any cell errors
    checks = _outputs(nb, "selfcheck")
    assert checks and all("[FAIL]" in text and "NotImplementedError" in text for text in checks), checks
