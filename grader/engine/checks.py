"""What a check is: a function judged in the grader's process, plus the outcomes it can have.

A check function has the signature ``check(sub: Runner, device: str, spec: CheckSpec) -> str``.
It runs the student's code only through ``sub.call(probe, *args)``: the probe runs wherever the
submission lives (in the notebook's kernel for self-checks, in an isolated child for hidden grading)
and returns plain data (tensors, numbers, strings). Comparisons and verdicts happen in the check.

It returns a short success message, or raises:
- ``Fail(message)``: a wrong answer; the message tells the student what to fix;
- ``Skip(reason)``: the check cannot be judged here (e.g. no GPU);
- ``StudentError`` (raised by ``sub.call``): the student's code raised;
- ``Aborted`` (raised by ``sub.call``): the student's code hung, crashed or ran out of memory.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol

CheckFn = Callable[..., str]
_IMPLEMENTATIONS: dict[str, dict[tuple[str, str], CheckFn]] = {}


class Fail(AssertionError):
    """The submission gave a wrong answer. The message is shown to the student.

    `measured` carries a number behind the verdict (e.g. a speed ratio) for calibration.
    """

    def __init__(self, message: str, *, measured: float | None = None):
        super().__init__(message)
        self.measured = measured


class Measured(str):
    """A success message that also carries the number it reports (e.g. a speed ratio)."""

    measured: float | None

    def __new__(cls, message: str, measured: float) -> Measured:
        self = super().__new__(cls, message)
        self.measured = measured
        return self


class Skip(Exception):
    """The check cannot be judged on this machine (not a pass, not a fail)."""


class StudentError(Exception):
    """The student's code raised an exception; the message names it."""


class Aborted(BaseException):
    """The student's code hung, crashed or exhausted memory; the process running it is gone.

    A BaseException so that property-based search (hypothesis) does not retry or shrink on it.
    """


class Runner(Protocol):
    """Where the submission lives. `call` runs `probe(submission, *args)` there and returns its data;
    `source` returns the text of a student's top-level def/class for static checks (or None)."""

    def start_check(self, timeout_s: float) -> None: ...

    def call(self, probe: Callable[..., Any], *args: Any) -> Any: ...

    def source(self, name: str) -> str | None: ...


def check(exercise: str, name: str) -> Callable[[CheckFn], CheckFn]:
    """Register a check implementation for `exercise.name` of the lesson whose module defines it."""

    def register(fn: CheckFn) -> CheckFn:
        lesson_module = fn.__module__
        _IMPLEMENTATIONS.setdefault(lesson_module, {})[(exercise, name)] = fn
        return fn

    return register


def implementations(module: str) -> dict[tuple[str, str], CheckFn]:
    importlib.import_module(module)
    return dict(_IMPLEMENTATIONS.get(module, {}))
