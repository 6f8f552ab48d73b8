"""course.yml, loaded into validated dataclasses: course -> lesson -> exercise -> check.

Every entry point (notebook self-check, `pytest exercises/...`, `course grade`) reads checks from here.
Unknown keys, missing keys and checks without an implementation are errors naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COURSE_FILE = ROOT / "course.yml"
DEVICES = ("cpu", "cuda")
VISIBILITIES = ("public", "hidden")
NETWORKS = ("none", "loopback")
# value: judges the answer itself. The others earn points only when the exercise's public value checks
# passed on the same device, and each also checks the values it measured itself: no structure, speed or
# gradient point for a wrong answer.
KINDS = ("value", "errors", "structure", "speed", "memory", "gradient")  # errors: what bad inputs must raise


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~5x faster, same safe subset


class RegistryError(ValueError):
    """course.yml is malformed; the message names the file and the offending key."""


@dataclasses.dataclass(frozen=True)
class CheckSpec:
    lesson: str
    exercise: str
    name: str
    points: float
    visibility: str
    devices: tuple[str, ...]
    timeout_s: float
    thresholds: dict[str, Any]
    examples: int = 25
    description: str = ""
    kind: str = "value"

    @property
    def gated(self) -> bool:
        return self.kind in ("structure", "speed", "memory", "gradient")

    @property
    def public(self) -> bool:
        return self.visibility == "public"

    @property
    def id(self) -> str:
        return f"{self.lesson}::{self.exercise}::{self.name}"

    def threshold(self, key: str, device: str) -> float:
        """A threshold that may be given per device (`{cpu: 8, cuda: 3}`) or once for all devices."""
        value = self.thresholds[key]
        if isinstance(value, dict):
            return float(value[device])
        return float(value)


@dataclasses.dataclass(frozen=True)
class ExerciseSpec:
    lesson: str
    name: str
    checks: tuple[CheckSpec, ...]
    hints: tuple[str, ...] = ()  # staged hints, shown one more per `course hint LESSON EXERCISE`


@dataclasses.dataclass(frozen=True)
class LessonSpec:
    id: str
    title: str
    chapter: str
    exercises: tuple[ExerciseSpec, ...]
    load_timeout_s: float
    memory_mb: int
    threads: int
    # "none": the child has no network at all; "loopback": its own network namespace with only 127.0.0.1
    # up, TCP allowed there (lesson 6 runs a gloo process group). Without a private namespace the child
    # gets no network either way.
    network: str = "none"

    @property
    def checks(self) -> tuple[CheckSpec, ...]:
        return tuple(c for e in self.exercises for c in e.checks)

    @property
    def module(self) -> str:
        return f"grader.lessons.{self.id}"

    def exercise(self, name: str) -> ExerciseSpec:
        for e in self.exercises:
            if e.name == name:
                return e
        raise KeyError(f"{self.id} has no exercise {name!r}")

    def notebook(self, tree: str = "exercises") -> Path:
        return ROOT / tree / self.id / f"{self.id}.ipynb"


@dataclasses.dataclass(frozen=True)
class Course:
    name: str
    lessons: tuple[LessonSpec, ...]
    path: Path
    # set in a student bundle's course.yml (`course release`): public checks only, no hidden grading
    release: dict[str, Any] | None = None

    @property
    def student_bundle(self) -> bool:
        return self.release is not None

    def lesson(self, lesson_id: str) -> LessonSpec:
        for lesson in self.lessons:
            if lesson.id == lesson_id:
                return lesson
        known = ", ".join(lesson.id for lesson in self.lessons)
        raise KeyError(f"unknown lesson {lesson_id!r}; course.yml has: {known}")

    def find_exercise(self, name: str, lesson: str | None = None) -> ExerciseSpec:
        found = [e for x in self.lessons for e in x.exercises if e.name == name and lesson in (None, x.id)]
        if not found:
            raise KeyError(f"no exercise named {name!r} in course.yml")
        return found[0]


class _Reader:
    """Reads one mapping from the YAML tree, remembering where it is for error messages."""

    def __init__(self, path: Path, where: str, data: Any):
        if not isinstance(data, dict):
            raise RegistryError(f"{path}: {where} must be a mapping, got {type(data).__name__}")
        self.path, self.where, self.data, self.used = path, where, data, set()

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = dataclasses.MISSING) -> Any:
        self.used.add(key)
        if key not in self.data:
            if default is dataclasses.MISSING:
                raise RegistryError(f"{self.path}: {self.where} is missing the key {key!r}")
            return default
        value = self.data[key]
        if not isinstance(value, kind) or isinstance(value, bool) and bool not in _tuple(kind):
            raise RegistryError(f"{self.path}: {self.where}.{key} must be {_names(kind)}, got {value!r}")
        return value

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise RegistryError(f"{self.path}: unknown key {unknown[0]!r} in {self.where}")


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _names(kind: type | tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in _tuple(kind))


def load(path: Path | str = COURSE_FILE, *, verify_implementations: bool = True) -> Course:
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(), Loader=_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise RegistryError(f"{path}: cannot read course registry: {exc}") from exc
    top = _Reader(path, "course", raw)
    name = top.get("course", str)
    defaults = _Reader(path, "defaults", top.get("defaults", dict, {}))
    default_timeout = float(defaults.get("timeout_s", (int, float), 60))
    default_load = float(defaults.get("load_timeout_s", (int, float), 60))
    default_memory = defaults.get("memory_mb", int, 4096)
    default_threads = defaults.get("threads", int, 1)
    defaults.done()
    lessons = []
    seen_exercises: dict[str, str] = {}
    for i, raw_lesson in enumerate(top.get("lessons", list)):
        lr = _Reader(path, f"lessons[{i}]", raw_lesson)
        lesson_id = lr.get("id", str)
        lr.where = f"lesson {lesson_id}"
        exercises = []
        for j, raw_ex in enumerate(lr.get("exercises", list)):
            er = _Reader(path, f"{lesson_id}.exercises[{j}]", raw_ex)
            ex_name = er.get("name", str)
            er.where = f"{lesson_id}.{ex_name}"
            if ex_name in seen_exercises:
                raise RegistryError(f"{path}: exercise name {ex_name!r} is used by {seen_exercises[ex_name]} "
                                    f"and {lesson_id}; names must be unique so check(obj) can find them")
            seen_exercises[ex_name] = lesson_id
            checks = []
            for k, raw_check in enumerate(er.get("checks", list)):
                cr = _Reader(path, f"{lesson_id}.{ex_name}.checks[{k}]", raw_check)
                check_name = cr.get("name", str)
                cr.where = f"{lesson_id}.{ex_name}.{check_name}"
                visibility = cr.get("visibility", str)
                if visibility not in VISIBILITIES:
                    raise RegistryError(f"{path}: {cr.where}.visibility must be one of {VISIBILITIES}")
                kind = cr.get("kind", str, "value")
                if kind not in KINDS:
                    raise RegistryError(f"{path}: {cr.where}.kind must be one of {KINDS}")
                devices = tuple(cr.get("devices", list, ["cpu", "cuda"]))
                bad = [d for d in devices if d not in DEVICES]
                if bad or not devices:
                    raise RegistryError(f"{path}: {cr.where}.devices has {bad or 'nothing'}; use {DEVICES}")
                checks.append(CheckSpec(
                    lesson=lesson_id, exercise=ex_name, name=check_name,
                    points=float(cr.get("points", (int, float))),
                    visibility=visibility, devices=devices,
                    timeout_s=float(cr.get("timeout_s", (int, float), default_timeout)),
                    thresholds=dict(cr.get("thresholds", dict, {})),
                    examples=cr.get("examples", int, 25),
                    description=cr.get("description", str, ""),
                    kind=kind,
                ))
                cr.done()
            if len({c.name for c in checks}) != len(checks):
                raise RegistryError(f"{path}: {er.where} lists a check name twice")
            hints = er.get("hints", list, [])
            if not all(isinstance(h, str) and h.strip() for h in hints):
                raise RegistryError(f"{path}: {er.where}.hints must be a list of non-empty strings")
            exercises.append(ExerciseSpec(lesson=lesson_id, name=ex_name, checks=tuple(checks),
                                          hints=tuple(" ".join(h.split()) for h in hints)))
            er.done()
        lessons.append(LessonSpec(
            id=lesson_id, title=lr.get("title", str), chapter=lr.get("chapter", str),
            exercises=tuple(exercises),
            load_timeout_s=float(lr.get("load_timeout_s", (int, float), default_load)),
            memory_mb=lr.get("memory_mb", int, default_memory),
            threads=lr.get("threads", int, default_threads),
            network=_network(path, lesson_id, lr.get("network", str, "none")),
        ))
        lr.done()
    release = top.get("release", dict, None)
    top.done()
    ids = [lesson.id for lesson in lessons]
    if len(set(ids)) != len(ids):
        raise RegistryError(f"{path}: a lesson id appears twice in {ids}")
    course = Course(name=name, lessons=tuple(lessons), path=path, release=release)
    if verify_implementations:
        for lesson in course.lessons:
            if lesson.exercises:
                _verify(course, lesson)
    return course


def _network(path: Path, lesson_id: str, value: str) -> str:
    if value not in NETWORKS:
        raise RegistryError(f"{path}: {lesson_id}.network must be one of {NETWORKS}, got {value!r}")
    return value


def _verify(course: Course, lesson: LessonSpec) -> None:
    """Each registered check has an implementation and each implementation is registered."""
    from grader.engine.checks import implementations

    impls = implementations(lesson.module)
    registered = {(c.exercise, c.name) for c in lesson.checks}
    for exercise, name in sorted(registered - set(impls)):
        raise RegistryError(f"{course.path}: {lesson.id}.{exercise}.{name} has no implementation in "
                            f"{lesson.module}")
    for exercise, name in sorted(set(impls) - registered):
        raise RegistryError(f"{course.path}: {lesson.module} implements {exercise}.{name}, "
                            f"which is missing from {lesson.id}.{exercise}.checks")


@functools.cache
def course() -> Course:
    """The course registry, loaded and validated once per process."""
    return load()


def import_lesson(lesson: LessonSpec) -> Any:
    return importlib.import_module(lesson.module)
