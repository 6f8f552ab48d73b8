"""`course release OUT`: does the student bundle hold everything a student needs and nothing that answers?

One bundle of every lesson is built per module (a few seconds: the bundle is verified in a fresh interpreter),
and `pytest exercises` runs in it with only the bundle importable, on the stubs and on the reference answers
(about 20 s). Leaks are looked for line by line, after stripping comments and whitespace:
- every line of every solution region (`### BEGIN/END SOLUTION` in solutions/*/*.ipynb) that is not trivial
  (16 characters or more) and that students do not get anyway (it is not in any released notebook);
- every line of every hidden check's function found nowhere else in the course's grader code.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from grader.authoring import release as releasing
from grader.authoring.stubs import BEGIN, END
from grader.engine import registry

ROOT = registry.ROOT
COURSE = registry.course()
LESSONS = [x for x in COURSE.lessons if x.exercises]
SHORT = 16  # shorter solution lines are too generic to be evidence (`return out`, `else:`)
# Solution lines that may be in the bundle, with why (a line of generic Python the grader's own code also has).
ALLOWED = {
    ("lesson6", "if bgr is None:"): "a guard in grader/data/shards.py, which writes the lesson's image files",
    ("lesson6", "if not path.is_file():"): "a guard in grader/engine/submission.py",
    ("lesson8", "return total / count"): "the mean of grader/probes/lesson8.py's reference_epoch, the lesson's own "
                                         "`fit` demo loop, which make_model's public check trains with",
}


def _line(text: str) -> str:
    text = text.strip()
    if text.startswith("#"):
        return ""
    return " ".join(re.sub(r"\s+#\s.*$", "", text).split())


def _solution_regions(lesson: registry.LessonSpec) -> list[list[str]]:
    regions = []
    for cell in nbformat.read(lesson.notebook("solutions"), as_version=4).cells:
        inside = None
        for raw in cell.source.splitlines() if cell.cell_type == "code" else []:
            if raw.strip() == BEGIN:
                inside = []
            elif raw.strip() == END:
                regions.append(inside)
                inside = None
            elif inside is not None:
                inside.append(raw)
    return regions


def _env(folder: Path) -> dict[str, str]:
    """Only the bundle is importable as `grader` (PYTHONPATH comes before the course's editable install)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_PROGRESS", "PYTEST_ADDOPTS")}
    return {**env, "PYTHONPATH": str(folder), "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "100"}


def _run(folder: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=folder, env=_env(folder), capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "bundle"
    done = releasing.release(out, echo=lambda line: None)
    assert done["lessons"] == [x.id for x in LESSONS]
    return out


@pytest.fixture(scope="module")
def bundle_lines(bundle) -> dict[str, set[str]]:
    return {p.relative_to(bundle).as_posix(): {_line(x) for x in p.read_text(errors="replace").splitlines()}
            for p in bundle.rglob("*") if p.is_file()}


def test_the_bundle_holds_the_exercises_and_the_runtime_and_no_instructor_part(bundle):
    names = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    for lesson in LESSONS:
        for name in (f"{lesson.id}.ipynb", f"test_{lesson.id}.py", f".pristine/{lesson.id}.ipynb"):
            assert f"exercises/{lesson.id}/{name}" in names
        assert {f"grader/lessons/{lesson.id}.py", f"grader/probes/{lesson.id}.py"} <= names
    assert {"pyproject.toml", "README.md", "course.yml", "grader/cli.py", "grader/selfcheck.py",
            "grader/engine/grading.py", "grader/student/status.py"} <= names
    for part in ("solutions/", "tests/", "benchmarks/", "grader/authoring/", "grader/classroom/",
                 "grader/integrations/"):
        assert not [n for n in names if n.startswith(part)], part
    for lesson in COURSE.lessons:  # a lesson without exercises ships no checks at all
        if not lesson.exercises:
            assert f"grader/lessons/{lesson.id}.py" not in names
    for name in names:
        if name.endswith(".ipynb"):
            text = (bundle / name).read_text()
            assert BEGIN not in text and END not in text, name
    assert (bundle / "exercises/lesson3/lesson3.ipynb").read_text() == \
        (bundle / "exercises/lesson3/.pristine/lesson3.ipynb").read_text()


def test_no_line_of_a_reference_solution_is_in_the_bundle(bundle_lines):
    released = set()  # what students get anyway: every line of every released notebook
    for lesson in LESSONS:
        for cell in nbformat.read(lesson.notebook("exercises"), as_version=4).cells:
            released |= {_line(x) for x in cell.source.splitlines()}
    leaks, looked = [], 0
    for lesson in LESSONS:
        for region in _solution_regions(lesson):
            for raw in region:
                line = _line(raw)
                if len(line) < SHORT or line in released or (lesson.id, line) in ALLOWED:
                    continue
                looked += 1
                leaks += [f"{lesson.id}: `{line}` in {name}" for name, lines in bundle_lines.items() if line in lines]
    assert looked > 50
    assert not leaks, "reference solution code in the bundle:\n" + "\n".join(leaks)


def _hidden_functions() -> dict[str, list[tuple[str, list[str], int]]]:
    """lesson -> (name, source lines, first line) of each function that only hidden checks are registered on."""
    found = {}
    for lesson in LESSONS:
        _, hidden = releasing._check_functions(lesson)
        module = registry.import_lesson(lesson)
        found[lesson.id] = [(name, *inspect.getsourcelines(getattr(module, name))) for name in sorted(hidden)]
    return found


def test_no_hidden_check_source_is_in_the_bundle(bundle, bundle_lines):
    hidden = _hidden_functions()
    assert sum(map(len, hidden.values())) >= 40
    # lines of the course's grader code outside the hidden checks: shared helpers, public checks, the engine
    spans = {lesson: [range(start, start + len(source)) for _, source, start in functions]
             for lesson, functions in hidden.items()}
    elsewhere = set()
    for path in (ROOT / "grader").rglob("*.py"):
        lesson = path.stem if path.parent.name == "lessons" else None
        for number, raw in enumerate(path.read_text().splitlines(), start=1):
            if not any(number in span for span in spans.get(lesson, ())):
                elsewhere.add(_line(raw))
    sources = {name: (bundle / name).read_text() for name in bundle_lines if name.endswith(".py")}
    flat = {name: " ".join(_line(x) for x in text.splitlines() if _line(x)) for name, text in sources.items()}
    leaks, distinctive = [], 0
    for lesson, functions in hidden.items():
        for name, source, _ in functions:
            leaks += [f"{lesson}: def {name} in {file}" for file, text in sources.items()
                      if re.search(rf"\bdef {re.escape(name)}\(", text)]
            body = " ".join(_line(x) for x in source[1:] if _line(x))
            leaks += [f"{lesson}: the body of {name} in {file}" for file, text in flat.items() if body in text]
            for raw in source[1:]:
                line = _line(raw)
                if len(line) < SHORT or line in elsewhere:
                    continue
                distinctive += 1
                leaks += [f"{lesson}: {name}'s `{line}` in {file}" for file, lines in bundle_lines.items()
                          if line in lines]
    assert distinctive > 300
    assert not leaks, "hidden check source in the bundle:\n" + "\n".join(leaks)


def test_the_bundle_registers_exactly_the_public_checks(bundle):
    shipped = registry.load(bundle / "course.yml", verify_implementations=False)
    assert shipped.student_bundle and not COURSE.student_bundle
    assert [(c.lesson, c.exercise, c.name) for x in shipped.lessons for c in x.checks] == \
        [(c.lesson, c.exercise, c.name) for x in COURSE.lessons for c in x.checks if c.public]
    for lesson in LESSONS:  # the registrations are generated: exactly the public checks, nothing else
        text = (bundle / f"grader/lessons/{lesson.id}.py").read_text()
        registered = [(node.value.func.args[0].value, node.value.func.args[1].value)
                      for node in ast.parse(text).body if isinstance(node, ast.Expr)
                      and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Call)]
        assert registered == [(c.exercise, c.name) for c in lesson.checks if c.public]
        assert "@check(" not in text


def _reference_into(notebook: Path, lesson: registry.LessonSpec) -> None:
    """Paste the reference answers into the exercise cells of the student's notebook, as a student would."""
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source
               for c in nbformat.read(lesson.notebook("solutions"), as_version=4).cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = json.loads(notebook.read_text())
    for cell in nb["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell["source"] = answers[grade_id]
    notebook.write_text(json.dumps(nb, indent=1))


@pytest.mark.slow
def test_pytest_in_the_bundle_fails_on_the_stubs_and_passes_on_the_references(bundle):
    """Every lesson's public checks, run by the bundle's own grader on its sliced check modules."""
    public = sum(1 for x in LESSONS for c in x.checks if c.public and "cpu" in c.devices)
    args = ("-m", "pytest", "-q", "-p", "no:course_grader", "-p", "no:cacheprovider", "exercises")
    stubs = _run(bundle, *args)
    assert stubs.returncode == 1, stubs.stdout[-3000:] + stubs.stderr[-3000:]
    assert f"{public} failed" in stubs.stdout and " passed" not in stubs.stdout
    assert "NotImplementedError: lesson3: Merge.__init__" in stubs.stdout
    assert "internal grader error" not in stubs.stdout
    assert str(ROOT / "grader") not in stubs.stdout  # the bundle's grader ran, not the course's
    notebooks = {x.id: bundle / "exercises" / x.id / f"{x.id}.ipynb" for x in LESSONS}
    pristine = {lesson: path.read_text() for lesson, path in notebooks.items()}
    try:
        for lesson in LESSONS:
            _reference_into(notebooks[lesson.id], lesson)
        answered = _run(bundle, *args)
    finally:
        for lesson, path in notebooks.items():
            path.write_text(pristine[lesson])
    assert answered.returncode == 0, answered.stdout[-3000:] + answered.stderr[-3000:]
    assert f"{public} passed" in answered.stdout


def test_the_bundle_cli_has_the_student_commands_and_refuses_hidden_grading(bundle):
    helped = _run(bundle, "-m", "grader", "--help")
    assert helped.returncode == 0
    commands = set(re.findall(r"^  (\S+)", helped.stdout.split("Commands:")[1], re.M))
    assert {"list", "grade", "status", "hint", "reset", "watch"} <= commands
    assert not commands & releasing.INSTRUCTOR_COMMANDS
    listed = _run(bundle, "-m", "grader", "list")
    assert listed.returncode == 0 and all(x.id in listed.stdout for x in LESSONS)
    graded = _run(bundle, "-m", "grader", "grade", "lesson3")
    assert graded.returncode != 0 and graded.stdout == ""
    assert len(graded.stderr.strip().splitlines()) == 1
    assert "student bundle" in graded.stderr and "--public-only" in graded.stderr
    hint = _run(bundle, "-m", "grader", "hint", "lesson3", "Merge", "--solution")
    assert hint.returncode == 1 and "not available in this copy" in hint.stdout


def test_pyproject_installs_the_bundle_with_the_course_dependencies(bundle):
    tomllib = pytest.importorskip("tomllib")
    mine = tomllib.loads((bundle / "pyproject.toml").read_text())
    course = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert mine["project"]["dependencies"] == course["project"]["dependencies"]
    assert mine["project"]["scripts"] == {"course": "grader.cli:entry"}
    assert "entry-points" not in mine["project"]  # no `pytest grader` plugin: hidden grading is not here


def test_release_refuses_a_folder_that_is_not_an_earlier_bundle(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(releasing.ReleaseError, match="not empty"):
        releasing.release(tmp_path)
    with pytest.raises(releasing.ReleaseError, match="not a student bundle"):
        releasing.release(tmp_path, force=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    with pytest.raises(releasing.ReleaseError, match="holds the course"):
        releasing.release(ROOT.parent, force=True)


def test_releasing_some_lessons_lists_the_others_without_exercises():
    text, left_out = releasing.course_yml(releasing.select_lessons(COURSE, ["lesson3"]), "now")
    data = yaml.safe_load(text)
    assert [x["id"] for x in data["lessons"]] == [x.id for x in COURSE.lessons]
    assert [x["id"] for x in data["lessons"] if x["exercises"]] == ["lesson3"]
    assert left_out == data["release"]["hidden_checks_left_out"] == \
        sum(1 for c in COURSE.lesson("lesson3").checks if not c.public)
    empty = dataclasses.replace(COURSE, lessons=tuple(dataclasses.replace(x, exercises=()) for x in COURSE.lessons))
    with pytest.raises(releasing.ReleaseError, match="lesson3 has no exercises to release"):
        releasing.select_lessons(empty, ["lesson3"])


# -- the slicer, on small modules -----------------------------------------------------------------------
MODULE = '''"""A lesson."""

from __future__ import annotations

import math
import os

from grader.engine.checks import Fail, check

LIMIT = 3
TABLE = {}
TABLE["a"] = LIMIT


def helper(x):
    return x * LIMIT


def secret_oracle(x):
    return math.sqrt(x)


@check("E", "public_one")
def public_one(sub, device, spec):
    secret_oracle = helper  # a local named like a hidden helper pulls nothing in
    return [secret_oracle(v) for v in TABLE.values()]


@check("E", "hidden_one")
def hidden_one(sub, device, spec):
    if secret_oracle(4) != 2:
        raise Fail(os.sep)
    return "ok"


for _name in ("F",):
    check(_name, "hidden_one")(hidden_one)
'''


def test_the_slice_keeps_what_the_public_check_needs_and_nothing_else():
    slicer = releasing.Slicer(MODULE, "lesson.py", registration="check")
    kept, aliases = slicer.keep(["public_one", "check"], forbidden={"hidden_one"})
    text = slicer.render(kept, aliases, header="sliced\n", tail='check("E", "public_one")(public_one)')
    namespace: dict = {}
    exec(compile(text.replace("check(", "(lambda *a: (lambda f: f))("), "sliced", "exec"), namespace)
    assert namespace["public_one"](None, "cpu", None) == [9]
    assert "secret_oracle(x)" not in text and "hidden_one" not in text and "import math" not in text
    assert "import os" not in text and '@check("E", "public_one")' not in text
    assert 'TABLE["a"] = LIMIT' in text  # a change to a kept name stays with it
    assert "from grader.engine.checks import check" in text and "Fail" not in text
    assert releasing.unresolved(text, "sliced") == []


def test_a_public_check_calling_a_hidden_one_is_refused():
    module = MODULE.replace("return [secret_oracle(v)", "return [hidden_one(v, 0, 0)")
    slicer = releasing.Slicer(module, "lesson.py", registration="check")
    with pytest.raises(releasing.ReleaseError, match=r"`hidden_one` <- `public_one`: a public check would ship"):
        slicer.keep(["public_one"], forbidden={"hidden_one"})


def test_a_module_level_statement_the_slicer_cannot_place_is_refused():
    with pytest.raises(releasing.ReleaseError, match=r"lesson.py, line 3: a module-level statement"):
        releasing.Slicer('"""doc"""\n\nprint("side effect")\n', "lesson.py", registration="check")
