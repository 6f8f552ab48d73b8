"""`course release OUT`: the student bundle, a copy of the course without its answers.

What the bundle holds: exercises/ (the stub notebooks, their self-check tests and a pristine copy for
`course reset`), a course.yml listing the public checks only, and the grader runtime a student needs
(`check()` in the notebook, `pytest exercises/lessonN`, `course list/status/hint/reset/watch`,
`course grade LESSON --public-only`), with its own pyproject.toml and README.md.

What it does not hold: solutions/, tests/ (the mutants compose the reference), benchmarks/, the
instructor's packages (grader/authoring: stubs and calibration read solutions/; grader/classroom;
grader/integrations: nbgrader and `pytest grader`), the instructor's commands (build, calibrate,
grade-class, nbgrader, release), and the source of the hidden checks.

How the hidden checks are left out: each lesson's checks live in one module, grader/lessons/lessonN.py.
The bundle's copy of it is a static slice: the public check functions, plus the module-level definitions
and imports they reference, transitively (a dependency closure computed with `symtable`, so a local
variable never pulls in a global of the same name), then one registration line per public check. The same
slice is taken of grader/probes/lessonN.py from the probes the bundled checks import, so probes only hidden
checks use stay out too. A public check that needs a hidden check's function is an error, as is a
module-level statement the slicer cannot place. Lesson modules must therefore:

1. register every check on a top-level function of the module: `@check("Exercise", "name")` on it, or a
   module-level registration statement calling `check(...)(fn)` (lesson 7 registers its shared checks in
   a loop at the end);
2. never call a hidden check's function from a public one: move the shared part into a helper;
3. keep other module-level statements to imports, def, class and assignments (mutating a module-level
   name, `X[k] = v`, is an assignment to X).

The bundle's course.yml has a `release:` entry; there `course grade` without `--public-only` refuses in one
line (grader.engine.grading.grade). After writing, the bundle is verified in a fresh interpreter: every
module imports, and course.yml's checks are exactly those implemented. It is built in a scratch folder
next to OUT and moved into place only then.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import datetime
import importlib
import json
import os
import re
import shutil
import subprocess
import symtable
import sys
import textwrap
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from grader.engine import registry
from grader.engine.registry import ROOT, Course, LessonSpec

# Packages of grader/ that never ship (their files read solutions/ or grade with hidden checks).
EXCLUDED_PACKAGES = ("authoring", "classroom", "integrations")
# `course` commands that stay in the full course (click names; a group's subcommands go with it).
INSTRUCTOR_COMMANDS = frozenset({"build", "calibrate", "grade-class", "nbgrader", "release"})
MARKER = "release"  # the key of the bundle's course.yml that marks it as a student bundle
_MODULE_NAMES = frozenset({"__name__", "__file__", "__doc__", "__spec__", "__loader__", "__package__",
                           "__builtins__", "__path__", "__annotations__", "__dict__"})


class ReleaseError(ValueError):
    """The bundle cannot be built (or failed its verification); the message names the file and what to fix."""


# ------------------------------------------------------------------------------------------------------
# The slicer: a module reduced to what some of its names need
# ------------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class _Statement:
    node: ast.stmt
    text: str  # as emitted (registration decorators removed)
    binds: set[str]  # names it binds at module level
    mutates: set[str]  # module-level names it changes without binding (X[k] = v, X.update(...), global X)
    uses: set[str]  # module-level names it reads, in nested scopes too
    registers: bool  # a statement that only registers (calls the registration function)


def _base_name(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _scope_globals(table: symtable.SymbolTable) -> tuple[set[str], set[str]]:
    """(globals read, globals assigned through `global X`) in the nested scopes of `table`."""
    reads: set[str] = set()
    writes: set[str] = set()
    for child in table.get_children():
        for symbol in child.get_symbols():
            if symbol.is_global() and symbol.is_referenced():
                reads.add(symbol.get_name())
            if symbol.is_declared_global() and symbol.is_assigned():
                writes.add(symbol.get_name())
        more_reads, more_writes = _scope_globals(child)
        reads |= more_reads
        writes |= more_writes
    return reads, writes


def _names(text: str, future: str, where: str) -> tuple[set[str], set[str], set[str]]:
    """(bound, read, assigned through `global`) module-level names of a top-level statement's source."""
    try:
        table = symtable.symtable(future + text, where, "exec")
    except SyntaxError as exc:
        raise ReleaseError(f"{where}: cannot analyse a statement ({exc})") from None
    bound, read = set(), set()
    for symbol in table.get_symbols():
        if symbol.is_assigned() or symbol.is_imported():
            bound.add(symbol.get_name())
        if symbol.is_referenced():
            read.add(symbol.get_name())
    nested_reads, nested_writes = _scope_globals(table)
    return bound - {"annotations"} if future else bound, read | nested_reads, nested_writes


def _is_registration(decorator: ast.expr, name: str | None) -> bool:
    return name is not None and isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Name) \
        and decorator.func.id == name


class Slicer:
    """A module's top-level statements with what each binds and reads, for `keep(roots)`.

    `registration` names the function that registers (e.g. `check`): its decorators are dropped from the
    kept definitions and module-level statements calling it are dropped; the caller writes registrations.
    """

    def __init__(self, source: str, where: str, *, registration: str | None = None):
        self.where = where
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            raise ReleaseError(f"{where}: {exc}") from None
        lines = source.splitlines()
        body = list(tree.body)
        self.docstring = None
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            self.docstring = body.pop(0).value.value
        self.future = [s for s in body if isinstance(s, ast.ImportFrom) and s.module == "__future__"]
        future = "".join(ast.unparse(s) + "\n" for s in self.future)
        self.statements: list[_Statement] = []
        last_line = 0
        for node in body:
            if node in self.future:
                continue
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            if first <= last_line:
                raise ReleaseError(f"{where}, line {first}: two top-level statements share a line; put each on "
                                   "its own line")
            last_line = node.end_lineno
            self.statements.append(self._statement(node, lines, first, future, registration))

    def _statement(self, node: ast.stmt, lines: list[str], first: int, future: str,
                   registration: str | None) -> _Statement:
        where = f"{self.where}, line {first}"
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return _Statement(node, "\n".join(lines[first - 1:node.end_lineno]), set(), set(), set(), False)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            kept = [d for d in node.decorator_list if not _is_registration(d, registration)]
            parts = ["\n".join(lines[d.lineno - 1:d.end_lineno]) for d in kept]
            text = "\n".join([*parts, "\n".join(lines[node.lineno - 1:node.end_lineno])])
            bound, read, written = _names(text, future, where)
            return _Statement(node, text, bound, written, read, False)
        text = "\n".join(lines[first - 1:node.end_lineno])
        bound, read, written = _names(text, future, where)
        mutated = set(written)
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            targets = [node.value.func]
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, (ast.Attribute, ast.Subscript)) and _base_name(part):
                    mutated.add(_base_name(part))
        registers = registration is not None and registration in read
        if not registers and not bound and not mutated:
            raise ReleaseError(f"{where}: a module-level statement that neither defines nor changes a name "
                               f"(`{ast.unparse(node)[:60]}`); `course release` cannot tell whether the public "
                               "checks need it. Move it into a function, or make it an assignment.")
        return _Statement(node, text, bound, mutated - bound, read, registers)

    def providers(self) -> dict[str, list[tuple[int, int | None]]]:
        """name -> the (statement, import alias) pairs that bind or change it."""
        found: dict[str, list[tuple[int, int | None]]] = {}
        for i, st in enumerate(self.statements):
            if isinstance(st.node, (ast.Import, ast.ImportFrom)):
                for j, alias in enumerate(st.node.names):
                    if alias.name == "*":
                        raise ReleaseError(f"{self.where}, line {st.node.lineno}: `import *` hides which names "
                                           "the module uses; import them by name")
                    name = alias.asname or alias.name.split(".")[0]
                    found.setdefault(name, []).append((i, j))
            elif not st.registers:
                for name in st.binds | st.mutates:
                    found.setdefault(name, []).append((i, None))
        return found

    def keep(self, roots: Iterable[str], forbidden: Iterable[str] = ()) -> tuple[set[int], dict[int, set[int]]]:
        """The statements (and import aliases) that `roots` need, transitively. A forbidden name (a hidden
        check's function) among them is an error naming the chain that reached it."""
        forbidden = set(forbidden)
        providers = self.providers()
        why: dict[str, str] = {}
        kept: set[int] = set()
        aliases: dict[int, set[int]] = {}
        todo = list(dict.fromkeys(roots))
        seen: set[str] = set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            if name not in providers:
                if name in _MODULE_NAMES or hasattr(builtins, name):
                    continue
                raise ReleaseError(f"{self.where}: {self._chain(name, why)} is not defined at module level")
            if name in forbidden:
                raise ReleaseError(f"{self.where}: {self._chain(name, why)}: a public check would ship a hidden "
                                   "check's source. Move what they share into a helper function.")
            for i, j in providers[name]:
                if j is not None:
                    aliases.setdefault(i, set()).add(j)
                    continue
                if i in kept:
                    continue
                kept.add(i)
                also = self.statements[i].binds & forbidden
                if also:
                    raise ReleaseError(f"{self.where}: the statement defining {name} also defines the hidden "
                                       f"check {sorted(also)[0]}")
                for used in sorted(self.statements[i].uses):
                    why.setdefault(used, name)
                    todo.append(used)
        return kept, aliases

    @staticmethod
    def _chain(name: str, why: dict[str, str]) -> str:
        chain = [name]
        while chain[-1] in why and len(chain) < 12 and why[chain[-1]] not in chain:
            chain.append(why[chain[-1]])
        return " <- ".join(f"`{n}`" for n in chain)

    def render(self, kept: set[int], aliases: dict[int, set[int]], *, header: str, tail: str = "") -> str:
        out = [f'"""{header}"""', ""]
        out += [ast.unparse(s) for s in self.future]
        imports, rest = [], []
        for i, st in enumerate(self.statements):
            if i in aliases:
                node = st.node
                names = [a for j, a in enumerate(node.names) if j in aliases[i]]
                if len(names) == len(node.names):
                    imports.append(st.text)
                elif isinstance(node, ast.Import):
                    imports.append(ast.unparse(ast.Import(names=names)))
                else:
                    imports.append(ast.unparse(ast.ImportFrom(module=node.module, names=names, level=node.level)))
            elif i in kept:
                rest.append(st)
        if imports:
            out += ["", *imports]
        previous_def = True
        for st in rest:
            is_def = isinstance(st.node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            out += ["", ""] if is_def or previous_def else []
            out.append(st.text)
            previous_def = is_def
        if tail:
            out += ["", "", tail.rstrip("\n")]
        return "\n".join(out).rstrip("\n") + "\n"

    def imported_from(self, aliases: dict[int, set[int]], module: str) -> set[str]:
        """Names the kept imports take from `module` (`from module import a as b` gives a)."""
        names = set()
        for i, js in aliases.items():
            node = self.statements[i].node
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == module:
                names |= {node.names[j].name for j in js}
        return names


def unresolved(source: str, where: str) -> list[str]:
    """Names a module reads (in any scope) that it never binds and Python does not provide."""
    table = symtable.symtable(source, where, "exec")
    bound = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    read = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    nested, written = _scope_globals(table)
    return sorted(n for n in (read | nested) - bound - written if n not in _MODULE_NAMES and not hasattr(builtins, n))


# ------------------------------------------------------------------------------------------------------
# The lesson modules: public checks and the probes they use
# ------------------------------------------------------------------------------------------------------
def _check_functions(lesson: LessonSpec) -> tuple[dict[tuple[str, str], str], set[str]]:
    """(public (exercise, check) -> top-level function name, names of functions only hidden checks use)."""
    from grader.engine.checks import implementations

    module = importlib.import_module(lesson.module)
    impls = implementations(lesson.module)
    public, hidden = {}, set()
    for spec in lesson.checks:
        fn = impls.get((spec.exercise, spec.name))
        if fn is None:
            raise ReleaseError(f"{lesson.module}: no implementation of {spec.exercise}.{spec.name}")
        name = getattr(fn, "__name__", "")
        if getattr(module, name, None) is not fn or getattr(fn, "__qualname__", "") != name:
            raise ReleaseError(f"{lesson.module}: {spec.exercise}.{spec.name} is registered on "
                               f"{getattr(fn, '__qualname__', fn)!r}, not on a top-level function of the module; "
                               "`course release` keeps public checks by their function (see "
                               "grader/authoring/release.py)")
        if spec.public:
            public[(spec.exercise, spec.name)] = name
        else:
            hidden.add(name)
    return public, hidden - set(public.values())


def lesson_module(lesson: LessonSpec) -> tuple[str, Slicer, dict[int, set[int]]]:
    """The bundle's grader/lessons/LESSON.py: the public checks and what they need, then their registrations."""
    public, hidden = _check_functions(lesson)
    path = ROOT / "grader" / "lessons" / f"{lesson.id}.py"
    slicer = Slicer(path.read_text(), str(path.relative_to(ROOT)), registration="check")
    kept, aliases = slicer.keep([*dict.fromkeys(public.values()), "check"], forbidden=hidden)
    lines = [f"check({json.dumps(exercise)}, {json.dumps(name)})({fn})" for (exercise, name), fn in public.items()]
    tail = "# The public checks' registrations (written by `course release`)\n" + "\n".join(lines)
    header = (f"{lesson.id} ({lesson.title}): the public checks, judge side.\n\n"
              f"Written by `course release` from the full course's grader/lessons/{lesson.id}.py: the public\n"
              "checks and what they use. The hidden checks run only in the full course.\n")
    return slicer.render(kept, aliases, header=header, tail=tail), slicer, aliases


def probe_module(lesson: LessonSpec, names: set[str]) -> str:
    """The bundle's grader/probes/LESSON.py: the probes (and helpers) that `names` need."""
    path = ROOT / "grader" / "probes" / f"{lesson.id}.py"
    if not path.exists():
        if names:
            raise ReleaseError(f"{path.relative_to(ROOT)} is missing, yet the public checks import {sorted(names)}")
        return f'"""{lesson.id}: no probes."""\n'
    slicer = Slicer(path.read_text(), str(path.relative_to(ROOT)))
    kept, aliases = slicer.keep(names)
    header = (f"{lesson.id} probes (child side): those the public checks call, and what they use.\n\n"
              f"Written by `course release` from the course's grader/probes/{lesson.id}.py.\n")
    return slicer.render(kept, aliases, header=header)


# ------------------------------------------------------------------------------------------------------
# The command line: the bundle's cli.py without the instructor's commands
# ------------------------------------------------------------------------------------------------------
def _command_name(node: ast.stmt) -> tuple[str | None, str | None]:
    """(the click command name a top-level def registers, the group it is registered on)."""
    if not isinstance(node, ast.FunctionDef):
        return None, None
    for d in node.decorator_list:
        if isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in ("command", "group") \
                and isinstance(d.func.value, ast.Name):
            given = d.args[0].value if d.args and isinstance(d.args[0], ast.Constant) else None
            return given or node.name.replace("_", "-"), d.func.value.id
    return None, None


def cli_module() -> str:
    path = ROOT / "grader" / "cli.py"
    slicer = Slicer(path.read_text(), "grader/cli.py")
    dropped: set[str] = set()
    for st in slicer.statements:  # a group's subcommands are registered on the group's function
        command, group = _command_name(st.node)
        if command is not None and (command in INSTRUCTOR_COMMANDS or group in dropped):
            dropped.add(st.node.name)
    roots = [n for i, st in enumerate(slicer.statements) if not isinstance(st.node, (ast.Import, ast.ImportFrom))
             for n in st.binds | st.mutates if n not in dropped]
    kept, aliases = slicer.keep(roots, forbidden=dropped)
    commands = ", ".join(sorted(INSTRUCTOR_COMMANDS))
    doc = (slicer.docstring or "").strip() + ("\n\nThe student bundle's copy (written by `course release`): "
                                              f"without the instructor's commands ({commands}).\n")
    return slicer.render(kept, aliases, header=doc)


# ------------------------------------------------------------------------------------------------------
# course.yml, pyproject.toml, README.md
# ------------------------------------------------------------------------------------------------------
def course_yml(course: Course, built: str) -> tuple[str, int]:
    """The bundle's course.yml: every lesson and exercise, the public checks only; (text, hidden checks left out)."""
    raw = yaml.safe_load(course.path.read_text())
    left_out = 0
    released = {x.id for x in course.lessons if x.exercises}
    for raw_lesson in raw.get("lessons", []):
        if raw_lesson.get("id") not in released:
            raw_lesson["exercises"] = []
        for raw_exercise in raw_lesson.get("exercises", []):
            checks = raw_exercise.get("checks", [])
            public = [c for c in checks if c.get("visibility") == "public"]
            left_out += len(checks) - len(public)
            raw_exercise["checks"] = public
    raw[MARKER] = {"built": built, "hidden_checks_left_out": left_out,
                   "note": "a student bundle: hidden checks run only where the full course is installed"}
    header = ("# The student bundle's course registry (written by `course release`): the public checks only.\n"
              "# Hidden checks, and how the thresholds were calibrated, are in the full course's course.yml.\n")
    return header + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True, width=110,
                                   default_flow_style=None), left_out


def _dependencies() -> list[str]:
    text = (ROOT / "pyproject.toml").read_text()
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        found = re.search(r"^dependencies\s*=\s*\[(.*?)\]", text, re.S | re.M)
        return re.findall(r'"([^"]+)"', found.group(1)) if found else []
    return list(tomllib.loads(text)["project"]["dependencies"])


def pyproject() -> str:
    deps = "".join(f"    {json.dumps(d)},\n" for d in _dependencies())
    return f"""[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "effective-pytorch-course-student"
version = "0.1.0"
description = "Effective PyTorch, the student's copy: the exercises, their public checks and the grader runtime."
readme = "README.md"
requires-python = ">=3.10"
license = {{ text = "MIT" }}
dependencies = [
{deps}]

[project.scripts]
course = "grader.cli:entry"

[tool.setuptools.packages.find]
include = ["grader*"]

[tool.pytest.ini_options]
testpaths = ["exercises"]
addopts = "-ra -p no:hypothesispytest -p no:anyio"
"""


GITIGNORE = """.venv/
__pycache__/
*.egg-info/
.pytest_cache/
.hypothesis/
.ipynb_checkpoints/
.course-progress.json
.course-progress.json.*.tmp
exercises/*/.backups/
"""


def readme(course: Course) -> str:
    rows = "".join(f"| {x.id} | {x.title} | {', '.join(f'`{e.name}`' for e in x.exercises) or 'coming soon'} |\n"
                   for x in course.lessons)
    return f"""# Effective PyTorch: your copy of the course

JupyterLab lessons after the *Effective PyTorch* notes. Each has exercises you fill in and public checks you
run yourself; your instructor grades them with hidden checks as well.

| lesson | topic | exercises |
|---|---|---|
{rows}
## Set up (Python 3.10 or later)

```bash
python3 -m venv .venv && . .venv/bin/activate && pip install -e . && course list
```

## Work

1. `jupyter lab`, open `exercises/lesson3/lesson3.ipynb`, read, run the examples, and fill in the cells
   that `raise NotImplementedError("lesson3: ...")`.
2. The cell after each exercise runs `check(Merge)`: one line per public check with what to fix. It fails
   while a check fails; so does nbgrader's Validate.
3. From a terminal, in this folder, on the notebook as saved: `pytest exercises/lesson3`, or
   `course grade lesson3 --public-only` (in the grader's sandbox).

```
course status [LESSON]... [--check]    where you are and what to do next
course hint LESSON EXERCISE            one more hint per call
course reset LESSON [EXERCISE]         the stub back, your work kept in exercises/LESSON/.backups/
course watch [LESSON] [--poll]         the public checks again on every save
```

This copy has no solutions and no hidden checks: `course grade` without `--public-only` says so. Hand in
your notebooks as your instructor asks; the hidden checks run where the full course is installed.
"""


# ------------------------------------------------------------------------------------------------------
# The bundle
# ------------------------------------------------------------------------------------------------------
def _grader_files() -> list[Path]:
    """grader/'s files that may ship, before the lesson and probe modules are sliced."""
    base = ROOT / "grader"
    found = []
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base)
        if not path.is_file() or "__pycache__" in rel.parts or any(p.startswith(".") for p in rel.parts):
            continue
        if path.suffix in (".pyc", ".pyo") or rel.parts[0] in EXCLUDED_PACKAGES:
            continue
        found.append(path)
    return found


def _imports_of(source: str) -> list[tuple[str, list[str] | None]]:
    """(module, names or None for the whole module) for every import in `source`, at any depth."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, [a.name for a in node.names]))
    return found


def select_lessons(course: Course, lesson_ids: Iterable[str] = ()) -> Course:
    """The course as released: only `lesson_ids` keep their exercises (default: every lesson with exercises)."""
    wanted = list(dict.fromkeys(lesson_ids))
    for lesson_id in wanted:
        if not course.lesson(lesson_id).exercises:
            raise ReleaseError(f"{lesson_id} has no exercises to release")
    lessons = tuple(x if not wanted or x.id in wanted else dataclasses.replace(x, exercises=())
                    for x in course.lessons)
    for lesson in lessons:
        if lesson.exercises and not lesson.notebook("solutions").exists():
            raise ReleaseError(f"{lesson.id} has exercises in course.yml but no {lesson.notebook('solutions')} "
                               "(release the other lessons with --lesson)")
    return dataclasses.replace(course, lessons=lessons)


def build_files(course: Course) -> tuple[dict[str, str], int]:
    """Every file of the bundle, path (relative, '/'-separated) -> text; and how many hidden checks were left out.
    Lessons without exercises in `course` (see select_lessons) are listed in course.yml without them."""
    import nbformat

    from grader.authoring.stubs import generated_files

    files: dict[str, str] = {}
    lessons = [x for x in course.lessons if x.exercises]
    lesson_ids = {x.id for x in course.lessons}
    for lesson in lessons:
        for path, text in generated_files(lesson).items():
            files[path.relative_to(ROOT).as_posix()] = text
            if path.suffix == ".ipynb":  # what `course reset` restores in a bundle (grader.student.reset)
                nbformat.reads(text, as_version=4)
                files[f"exercises/{lesson.id}/.pristine/{path.name}"] = text
    for path in _grader_files():
        rel = path.relative_to(ROOT).as_posix()
        folder, stem = path.parent.name, path.stem
        if folder in ("lessons", "probes") and path.parent.parent == ROOT / "grader" and stem in lesson_ids:
            continue  # sliced below, or left out (a lesson without exercises yet)
        files[rel] = path.read_text()
    files["grader/cli.py"] = cli_module()
    slices = {}
    for lesson in lessons:
        text, slicer, aliases = lesson_module(lesson)
        files[f"grader/lessons/{lesson.id}.py"] = text
        slices[lesson.id] = (slicer, aliases)
    # the probes each lesson's public checks import (any bundled module may import a lesson's probes)
    wanted: dict[str, set[str]] = {x.id: set() for x in lessons}
    whole: set[str] = set()
    changed = True
    while changed:
        changed = False
        for rel, text in list(files.items()):
            if not rel.endswith(".py"):
                continue
            for module, names in _imports_of(text):
                parts = module.split(".")
                if module == "grader.probes" and names:
                    hit = [n for n in names if n in wanted]
                    whole |= set(hit)
                elif len(parts) == 3 and parts[:2] == ["grader", "probes"] and parts[2] in wanted:
                    if names is None:
                        whole.add(parts[2])
                    elif not set(names) <= wanted[parts[2]]:
                        wanted[parts[2]] |= set(names)
                        changed = True
        for lesson in lessons:
            path = ROOT / "grader" / "probes" / f"{lesson.id}.py"
            text = path.read_text() if lesson.id in whole and path.exists() else probe_module(lesson, wanted[lesson.id])
            if files.get(f"grader/probes/{lesson.id}.py") != text:
                files[f"grader/probes/{lesson.id}.py"] = text
                changed = True
    built = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    files["course.yml"], left_out = course_yml(course, built)
    files["pyproject.toml"] = pyproject()
    files["README.md"] = readme(course)
    files[".gitignore"] = GITIGNORE
    for rel, text in files.items():
        if rel.endswith(".py"):
            missing = unresolved(text, rel)
            if missing and rel.split("/")[1:2] in (["lessons"], ["probes"], ["cli.py"]):
                raise ReleaseError(f"{rel} (bundle): {', '.join(missing)} used but not defined: the slice "
                                   "left out a definition")
    return files, left_out


_VERIFY = """
import importlib, pkgutil, sys
import grader
from grader.engine import registry
names = sorted(m.name for m in pkgutil.walk_packages(grader.__path__, "grader.") if m.name != "grader.__main__")
for name in names:
    importlib.import_module(name)
course = registry.load()  # imports the lesson modules: course.yml's checks must be exactly those implemented
hidden = [c.id for x in course.lessons for c in x.checks if not c.public]
assert not hidden, hidden
from click.testing import CliRunner
from grader.cli import main
result = CliRunner().invoke(main, ["list"])
assert result.exit_code == 0, result.output
print(len(names), sum(len(x.checks) for x in course.lessons))
"""


def verify(folder: Path, public_checks: int) -> None:
    """Import every module of the bundle in a fresh interpreter, with only the bundle importable as grader."""
    env = {**os.environ, "PYTHONPATH": str(folder), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("COURSE_PROGRESS", None)
    done = subprocess.run([sys.executable, "-c", _VERIFY], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=300)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        details = textwrap.indent(done.stderr[-3000:], "  ")
        raise ReleaseError(f"the bundle in {folder} does not work: {tail}\n{details}")
    modules, checks = map(int, done.stdout.split()[-2:])
    if checks != public_checks:
        raise ReleaseError(f"the bundle registers {checks} checks, the course has {public_checks} public ones")


def release(out: Path, *, lesson_ids: Iterable[str] = (), force: bool = False,
            echo: Callable[[str], Any] = print) -> dict[str, Any]:
    """Build the student bundle in `out` (which must not exist, be empty, or, with force, be an earlier bundle),
    with the exercises of `lesson_ids` (default: every lesson that has exercises)."""
    out = Path(out).absolute()
    if out == ROOT or ROOT.is_relative_to(out):
        raise ReleaseError(f"{out} holds the course itself")
    if out.exists():
        if not out.is_dir():
            raise ReleaseError(f"{out} exists and is not a folder")
        if any(out.iterdir()):
            if not force:
                raise ReleaseError(f"{out} is not empty (--force replaces an earlier bundle there)")
            if not _is_bundle(out):
                raise ReleaseError(f"{out} is not empty and is not a student bundle: not replacing it")
    course = select_lessons(registry.course(), lesson_ids)
    files, left_out = build_files(course)
    scratch = out.with_name(f".{out.name}.release-{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        for rel, text in files.items():
            target = scratch / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        public = sum(1 for x in course.lessons for c in x.checks if c.public)
        echo("verifying the bundle (imports every module in a fresh interpreter) ...")
        verify(scratch, public)
        if out.exists():
            shutil.rmtree(out)
        scratch.rename(out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"folder": out, "files": len(files), "public_checks": public, "hidden_checks_left_out": left_out,
            "lessons": [x.id for x in course.lessons if x.exercises]}


def _is_bundle(folder: Path) -> bool:
    try:
        data = yaml.safe_load((folder / "course.yml").read_text())
    except (OSError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and MARKER in data
