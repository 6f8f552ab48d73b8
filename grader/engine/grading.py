"""The one engine: run registered checks against a runner and turn outcomes into report rows.

Every entry point goes through `run_check`: the notebook's `check(obj)`, `pytest exercises/lessonN`,
and `course grade` (which adds isolation via IsolatedRunner).
"""

from __future__ import annotations

import dataclasses
import traceback
from collections.abc import Iterable, Iterator
from pathlib import Path

from grader.engine import registry
from grader.engine.checks import Aborted, Fail, Skip, StudentError, implementations
from grader.engine.registry import CheckSpec, LessonSpec
from grader.engine.report import NO_CUDA, CheckResult, Report
from grader.engine.runners import IsolatedRunner, UnreadableRunner
from grader.engine.submission import SubmissionUnreadable, read_code


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


MESSAGE_CHARS = 2000


def clean_message(text: object, limit: int = MESSAGE_CHARS) -> str:
    """One printable line of at most `limit` characters (no lone surrogates, no terminal escapes)."""
    text = str(text).encode("utf-8", "replace").decode("utf-8")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_check(spec: CheckSpec, device: str, sub) -> CheckResult:
    """Run one check on one device. Never raises: every outcome becomes a row.

    Results are kept on the runner, so a check run once (e.g. a value check a gated check needed) is not
    run again for the same submission.
    """
    cache = _verdicts(sub)
    key = (spec.exercise, spec.name, device)
    if key not in cache:
        cache[key] = _run_check(spec, device, sub)
    return cache[key]


def _verdicts(sub) -> dict:
    try:
        return sub.__dict__.setdefault("verdicts", {})
    except AttributeError:
        return {}


def _value_failures(spec: CheckSpec, device: str, sub) -> list[CheckResult]:
    lesson = registry.course().lesson(spec.lesson)
    values = [c for c in lesson.checks
              if c.exercise == spec.exercise and c.kind == "value" and c.public and device in c.devices]
    results = [run_check(c, device, sub) for c in values]
    return [r for r in results if r.status in ("failed", "error")]


def _run_check(spec: CheckSpec, device: str, sub) -> CheckResult:
    def row(status: str, message: str, points: float = 0.0, measured: float | None = None) -> CheckResult:
        max_points = 0.0 if status == "skipped" else spec.points
        return CheckResult(spec.exercise, spec.name, device, status, points, max_points, clean_message(message),
                           spec.public, measured)

    if device == "cuda" and not cuda_available():
        return row("skipped", NO_CUDA)
    refused = getattr(sub, "refused", None)
    if refused:
        return row("failed", refused)
    fn = implementations(f"grader.lessons.{spec.lesson}")[(spec.exercise, spec.name)]
    sub.start_check(spec.timeout_s)
    try:
        message = fn(sub, device, spec)
    except Fail as exc:
        return row("failed", str(exc), measured=exc.measured)
    except Skip as exc:
        return row("skipped", f"skipped: {exc}")
    except StudentError as exc:
        return row("error", str(exc))
    except Aborted as exc:
        return row("error", str(exc))
    except Exception as exc:  # a bug in the grader must not cost other checks
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return row("error", f"internal grader error ({type(exc).__name__}: {exc} at "
                            f"{Path(where.filename).name}:{where.lineno}); please report it")
    if spec.gated:  # its own verdict first (it names the mistake it saw); a pass needs right values too
        wrong = _value_failures(spec, device, sub)
        if wrong:
            first = wrong[0]
            return row("failed", f"not awarded: {spec.kind} points need right values, and {spec.exercise} fails "
                                 f"{first.check} on {device} ({clean_message(first.message, 300)}). Fix the values "
                                 "first.", measured=getattr(message, "measured", None))
    return row("passed", message or "ok", spec.points, getattr(message, "measured", None))


def select(lesson: LessonSpec, *, public_only: bool = False, exercise: str | None = None,
           names: Iterable[str] | None = None) -> list[CheckSpec]:
    wanted = set(names) if names is not None else None
    return [c for c in lesson.checks
            if (not public_only or c.public) and exercise in (None, c.exercise)
            and (wanted is None or c.name in wanted)]


def run_checks(checks: Iterable[CheckSpec], sub) -> Iterator[CheckResult]:
    for spec in checks:
        for device in spec.devices:
            yield run_check(spec, device, sub)


def isolated_runner(lesson: LessonSpec, submission: Path) -> IsolatedRunner | UnreadableRunner:
    """The runner hidden grading uses for `submission`; an unreadable file gives a runner whose every
    call fails with the reason, so each check still gets its row. Code that reaches into the grader or the
    interpreter (grader.judging.source_scan.tampering) is not run at all: every row says where it is."""
    try:
        cells = read_code(submission)
    except SubmissionUnreadable as exc:
        return UnreadableRunner(f"could not read the submission: {exc}")
    findings = tampering_findings(lesson, cells)
    if findings:
        runner = UnreadableRunner("not graded")
        more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
        runner.refused = (f"not graded: {findings[0].describe()}{more}. Graded code may not inspect or patch the "
                          "grader, the interpreter or torch (exec/eval, importing grader, gc, inspect, sys.modules, "
                          "ctypes, torch._C, torch.ops, signals, assigning to torch's attributes). Remove it and "
                          "submit again.")
        runner.sandbox = "not run: the submission was refused"
        return runner
    return IsolatedRunner(cells, memory_mb=lesson.memory_mb, threads=lesson.threads,
                          load_timeout_s=lesson.load_timeout_s, network=lesson.network)


def tampering_findings(lesson: LessonSpec, cells: list) -> list:
    """Static findings (read in this process, never run) in the cells that would run."""
    from grader.judging.source_scan import tampering

    return tampering(cells, trusted=trusted_cells(lesson))


def trusted_cells(lesson: LessonSpec) -> frozenset[str]:
    """The course's own code cells of the released notebook (imports, helpers), as students receive them."""
    try:
        cells = read_code(lesson.notebook("exercises"))
    except (SubmissionUnreadable, OSError):
        return frozenset()
    return frozenset(c.source.strip() for c in cells if "NotImplementedError(" not in c.source)


def with_timeout(lesson: LessonSpec, checks: list[CheckSpec], timeout_s: float | None
                 ) -> tuple[LessonSpec, list[CheckSpec]]:
    """Override course.yml's per-check and per-cell limits (e.g. `course grade --timeout`)."""
    if timeout_s is None:
        return lesson, checks
    return (dataclasses.replace(lesson, load_timeout_s=timeout_s),
            [dataclasses.replace(spec, timeout_s=timeout_s) for spec in checks])


HIDDEN_IN_FULL_COURSE = ("this is the student bundle: hidden checks run only where the full course is installed; "
                         "`course grade {lesson} --public-only` (or `pytest exercises/{lesson}`) runs the public "
                         "checks")


def grade(lesson_id: str, submission: Path | str | None = None, *, public_only: bool = False,
          checks: Iterable[str] | None = None, timeout_s: float | None = None) -> Report:
    """Grade a notebook or .py against a lesson's checks, each run in an isolated child process.

    Raises KeyError for an unknown lesson, RegistryError for hidden grading in a student bundle (which has
    the public checks only); an unreadable, crashing or hanging submission still yields a report.
    """
    if not public_only and registry.course().student_bundle:
        raise registry.RegistryError(HIDDEN_IN_FULL_COURSE.format(lesson=lesson_id))
    lesson = registry.course().lesson(lesson_id)
    path = Path(submission) if submission is not None else lesson.notebook()
    lesson, selected = with_timeout(lesson, select(lesson, public_only=public_only, names=checks), timeout_s)
    with isolated_runner(lesson, path) as runner:
        results = list(run_checks(selected, runner))
        sandbox = runner.sandbox or "not run: no check needed the submission's code"
    return Report(lesson.id, results, sandbox=sandbox)
