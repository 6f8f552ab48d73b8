"""`course`: a thin command line over the grader's functions."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from grader.engine import registry


def _lesson(lesson_id: str) -> registry.LessonSpec:
    try:
        return registry.course().lesson(lesson_id)
    except KeyError as exc:
        raise click.BadParameter(exc.args[0], param_hint="LESSON") from None


@click.group()
def main() -> None:
    """Effective PyTorch: a self-paced course with an autograder."""
    try:
        registry.course()
    except registry.RegistryError as exc:
        raise click.ClickException(str(exc)) from None


@main.command("list")
def list_lessons() -> None:
    """Show the lessons, their exercises and points."""
    for lesson in registry.course().lessons:
        points = sum(c.points * len(c.devices) for c in lesson.checks)
        exercises = ", ".join(e.name for e in lesson.exercises) or "(coming soon)"
        click.echo(f"{lesson.id}  {lesson.title}  [{exercises}]" + (f"  {points:g} pts" if points else ""))


@main.command()
def doctor() -> None:
    """Check that graded code runs sealed here: start one child and print what it could apply.

    Exits 1 when the filesystem sandbox is not active (grading still works, but is not sealed).
    """
    from grader.engine.sandbox import landlock_abi
    from grader.engine.sealing import probe_sandbox

    click.echo(f"landlock ABI: {landlock_abi() or 'unavailable'}")
    line, sealed = probe_sandbox()
    click.echo(f"sandbox: {line}")
    if not sealed:
        click.echo("grading works but is NOT sealed: see README, section Security", err=True)
        sys.exit(1)


@main.command()
@click.argument("lesson_id", metavar="LESSON")
@click.option("--submission", type=click.Path(dir_okay=False, path_type=Path),
              help="A .ipynb or .py defining the exercises. Default: exercises/LESSON/LESSON.ipynb.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the report as JSON to this file.")
@click.option("--public-only", is_flag=True, help="Run only the public checks (as the self-check does).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.1),
              help="Seconds allowed per check and per notebook cell (default: course.yml's).")
def grade(lesson_id: str, submission: Path | None, json_path: Path | None, public_only: bool,
          timeout_s: float | None) -> None:
    """Grade LESSON with its public and hidden checks, each submission run in an isolated process.

    Exits 0 whenever a report was produced, whatever the score.
    """
    from grader.engine.grading import grade as grade_lesson
    from grader.engine.report import render

    lesson = _lesson(lesson_id)
    report = grade_lesson(lesson.id, submission, public_only=public_only, timeout_s=timeout_s)
    if json_path is not None:
        report.write_json(json_path)
    render(report)


@main.command()
@click.option("--check", "check_only", is_flag=True, help="Only report files that are out of date (exit 1).")
def build(check_only: bool) -> None:
    """Generate exercises/ (student notebooks, self-check tests) from solutions/."""
    from grader.authoring.stubs import build as build_exercises

    lessons = [lesson for lesson in registry.course().lessons if lesson.exercises]
    stale = build_exercises(lessons, check_only=check_only)
    for path in stale:
        click.echo(f"{'out of date' if check_only else 'wrote'}: {path.relative_to(registry.ROOT)}")
    if check_only and stale:
        sys.exit(1)


@main.command()
@click.argument("lesson_ids", metavar="[LESSON]...", nargs=-1)
def calibrate(lesson_ids: tuple[str, ...]) -> None:
    """Print same-run speed ratios of the reference and the naive baselines, for every speed check."""
    from grader.authoring.calibrate import calibrate as run_calibration

    lessons = [_lesson(i) for i in lesson_ids] or [x for x in registry.course().lessons if x.exercises]
    run_calibration(lessons)


@main.group("nbgrader")
def nbgrader_group() -> None:
    """Run the course as an nbgrader course (instructors)."""


@nbgrader_group.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def nbgrader_init(directory: Path) -> None:
    """Write an nbgrader course in DIRECTORY: config, source/ notebooks, gradebook with the lessons."""
    from grader.integrations.nbgrader_course import CourseError, init

    try:
        written = init(directory)
    except CourseError as exc:
        raise click.ClickException(str(exc)) from None
    for path in written:
        click.echo(f"wrote: {path}")
    click.echo(f"Next: cd {directory} && nbgrader generate_assignment LESSON  (see README, 'For instructors')")


@nbgrader_group.command("bench")
@click.option("--lesson", "lesson_id", default="lesson3", show_default=True, help="The lesson to autograde.")
@click.option("--students", type=click.IntRange(min=2), default=30, show_default=True,
              help="Class size (copies of the reference answers).")
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path),
              help="Build the courses in this folder and keep them (default: a temporary folder).")
def nbgrader_bench(lesson_id: str, students: int, keep: Path | None) -> None:
    """Time `nbgrader autograde` of a class with the course grader, next to nbgrader's own baseline."""
    from grader.integrations.nbgrader_bench import bench

    bench(_lesson(lesson_id).id, students, keep, echo=click.echo)
