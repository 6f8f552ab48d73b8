"""`course`: a thin command line over the grader's functions.

Answering fast matters (`course --help`, `course list`, a typo): torch, and everything that imports it
(the check implementations, grading, runners), is imported only inside the commands that grade.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import click

from grader.engine import registry

USAGE_ERROR = 2  # click's exit status for bad arguments


@functools.cache
def _specs() -> registry.Course:
    """course.yml, validated, without importing the check implementations (they import torch)."""
    return registry.load(verify_implementations=False)


def _lesson(lesson_id: str) -> registry.LessonSpec:
    try:
        return _specs().lesson(lesson_id)
    except KeyError as exc:
        raise click.BadParameter(exc.args[0], param_hint="LESSON") from None


def _refuse(message: str) -> None:
    """A bad argument found after parsing: one line on stderr, exit status 2 (as click's usage errors)."""
    click.echo(f"{click.get_current_context().command_path}: {message}", err=True)
    sys.exit(USAGE_ERROR)


def points(lesson: registry.LessonSpec) -> tuple[float, float]:
    """(points a grade can earn without a GPU, points with one): a check counts once per device it runs on."""
    cpu = sum(c.points for c in lesson.checks if "cpu" in c.devices)
    return cpu, sum(c.points * len(c.devices) for c in lesson.checks)


def entry() -> None:
    """The `course` command (and `python -m grader`): `main`, then, once a command has imported torch, a
    quick exit. atexit handlers still run (temporary folders, the forkserver, progress files), output is
    flushed, and only the interpreter's teardown of torch's modules is skipped: ~0.3 s of every grade.
    """
    try:
        main()
    except SystemExit as done:
        if "torch" not in sys.modules or not (done.code is None or isinstance(done.code, int)):
            raise
        import atexit

        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe: nothing more can reach it anyway
                pass
        atexit._run_exitfuncs()
        os._exit(done.code or 0)


@click.group()
def main() -> None:
    """Effective PyTorch: a self-paced course with an autograder."""
    try:
        _specs()
    except registry.RegistryError as exc:
        raise click.ClickException(str(exc)) from None


@main.command("list")
def list_lessons() -> None:
    """Show the lessons, their points (without a GPU, and with one) and exercises."""
    import textwrap

    for lesson in _specs().lessons:
        cpu, gpu = points(lesson)
        if not lesson.exercises:
            click.echo(f"{lesson.id}  {lesson.title}  (no exercises yet)")
            continue
        total = f"{cpu:g} pts" + (f" on CPU, {gpu:g} with a GPU" if gpu != cpu else "")
        click.echo(f"{lesson.id}  {lesson.title}  ({total})")
        indent = " " * (len(lesson.id) + 2)
        click.echo(textwrap.fill(", ".join(e.name for e in lesson.exercises), width=80, initial_indent=indent,
                                 subsequent_indent=indent, break_long_words=False, break_on_hyphens=False))


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


def _writable_json(json_path: Path | None) -> None:
    if json_path is not None:
        folder = json_path.parent
        if not folder.is_dir():
            _refuse(f"--json {json_path}: the folder {folder} does not exist")
        if not os.access(folder, os.W_OK):
            _refuse(f"--json {json_path}: the folder {folder} is not writable")


@main.command()
@click.argument("lesson_id", metavar="[LESSON]", required=False)
@click.option("--all", "all_lessons", is_flag=True,
              help="Grade every lesson that has exercises, in one run (start-up paid once).")
@click.option("--reference", is_flag=True,
              help="Grade the course's own solutions instead of exercises/ (an instructor's smoke test).")
@click.option("--submission", type=click.Path(dir_okay=False, path_type=Path),
              help="A .ipynb or .py defining the exercises. Default: exercises/LESSON/LESSON.ipynb.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the report as JSON to this file (with --all: a list of reports).")
@click.option("--public-only", is_flag=True, help="Run only the public checks (as the self-check does).")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.1),
              help="Seconds allowed per check and per notebook cell (default: course.yml's).")
def grade(lesson_id: str | None, all_lessons: bool, reference: bool, submission: Path | None,
          json_path: Path | None, public_only: bool, timeout_s: float | None) -> None:
    """Grade LESSON (or --all lessons) with its public and hidden checks, each submission run in an
    isolated process.

    Exits 0 whenever a report was produced, whatever the score; 2 for a bad argument (unknown lesson,
    a submission that does not exist, a --json file in a folder that does not exist).
    """
    if all_lessons == (lesson_id is not None):
        _refuse("give one LESSON, or --all")
    if submission is not None and (all_lessons or reference):
        _refuse("--submission names one lesson's file: not with --all or --reference")
    lessons = [x for x in _specs().lessons if x.exercises] if all_lessons else [_lesson(lesson_id)]
    if not all_lessons and not lessons[0].exercises:
        click.echo(f"{lessons[0].id} has no exercises yet")
        return
    jobs = []
    for lesson in lessons:
        path = submission if submission is not None else lesson.notebook("solutions" if reference else "exercises")
        if path.exists():
            jobs.append((lesson, path))
        elif not all_lessons:
            _refuse(f"{path} does not exist" + ("" if submission is not None else " (run `course build`?)"))
        else:
            click.echo(f"{lesson.id}: skipped, {path} does not exist", err=True)
    _writable_json(json_path)

    from grader.engine import forkserver

    forkserver.start()  # the graded children's forkserver imports torch on the other core meanwhile
    from grader.engine.grading import grade as grade_lesson  # imports torch: only once there is work to do
    from grader.engine.report import render

    reports = []
    for lesson, path in jobs:
        try:
            report = grade_lesson(lesson.id, path, public_only=public_only, timeout_s=timeout_s)
        except registry.RegistryError as exc:
            raise click.ClickException(str(exc)) from None
        render(report)
        reports.append(report)
        if not reference:  # the student's own notebook: kept for `course status`
            from grader.student.progress import remember_grade

            remember_grade(report, path, public_only=public_only)
    if all_lessons:
        click.echo(f"course: {sum(r.score for r in reports):g} / {sum(r.max_score for r in reports):g} points "
                   f"over {len(reports)} lessons")
    if json_path is not None:
        if all_lessons:
            import json

            from grader.engine.report import write_atomic

            write_atomic(json_path, json.dumps([r.to_json() for r in reports], indent=2) + "\n")
        else:
            reports[0].write_json(json_path)


@main.command("grade-class")
@click.argument("submissions_dir", metavar="SUBMISSIONS_DIR",
                type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Grade this many submissions at once, on a local Dask cluster of as many workers.")
@click.option("--scheduler", metavar="tcp://HOST:8786", help="Use a running Dask cluster instead of a local one.")
@click.option("--lesson", "lesson_ids", multiple=True, metavar="LESSON",
              help="Only these lessons (repeatable). Default: every lesson with exercises.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("grades"), show_default=True,
              help="Folder for STUDENT.json, STUDENT.csv and grades.csv.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0.1),
              help="Seconds allowed per check and per notebook cell (default: course.yml's).")
def grade_class(submissions_dir: Path, jobs: int, scheduler: str | None, lesson_ids: tuple[str, ...], out: Path,
                timeout_s: float | None) -> None:
    """Grade a class: SUBMISSIONS_DIR/STUDENT/LESSON.ipynb (or .py, or nbgrader's STUDENT/LESSON/LESSON.ipynb).

    Writes one JSON (a list of per-lesson reports) and one CSV (one row per check) per student, and
    grades.csv (one row per student and lesson), in --out.
    """
    from grader.classroom import gradebook, submissions

    lessons = [_lesson(i).id for i in lesson_ids] or [x.id for x in _specs().lessons if x.exercises]
    tasks, notes = submissions.find(submissions_dir, lessons)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    if not tasks:
        _refuse(f"no submissions under {submissions_dir} (expected STUDENT/LESSON.ipynb for {', '.join(lessons)})")

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from grader.classroom.pool import grade_tasks

    with Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}")) as progress:
        bar = progress.add_task("", total=len(tasks))

        def done(task, report) -> None:
            progress.update(bar, advance=1, description=f"{task.student}/{task.lesson}: "
                                                        f"{report['score']:g} / {report['max_score']:g}")

        results = grade_tasks(tasks, jobs=jobs, scheduler=scheduler, timeout_s=timeout_s, on_done=done)
    written = gradebook.write(out, results)
    errors = [f"{t.student}/{t.lesson}: {r['error']}" for t, r in results if r.get("error")]
    for line in errors:
        click.echo(f"error: {line}", err=True)
    students = len({t.student for t in tasks})
    click.echo(f"graded {len(results)} submissions of {students} students; wrote {len(written)} files in {out}")


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


@main.command()
@click.argument("out", metavar="OUT", type=click.Path(path_type=Path))
@click.option("--lesson", "lesson_ids", multiple=True, metavar="LESSON",
              help="Release only these lessons' exercises (repeatable). Default: every lesson with exercises.")
@click.option("--force", is_flag=True, help="Replace an earlier student bundle in OUT.")
def release(out: Path, lesson_ids: tuple[str, ...], force: bool) -> None:
    """Write the student bundle in OUT: exercises, public checks, the grader runtime; no solutions, no hidden
    checks. It installs with `pip install -e .` in OUT (see README, 'Student bundle')."""
    from grader.authoring.release import ReleaseError
    from grader.authoring.release import release as build_bundle

    ids = [_lesson(i).id for i in lesson_ids]
    try:
        done = build_bundle(out, lesson_ids=ids, force=force, echo=lambda line: click.echo(line, err=True))
    except ReleaseError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote the student bundle in {done['folder']}: {done['files']} files, {len(done['lessons'])} lessons, "
               f"{done['public_checks']} public checks ({done['hidden_checks_left_out']} hidden checks left out)")


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


@nbgrader_group.command("autograde", context_settings={"ignore_unknown_options": True})
@click.argument("lesson_id", metavar="LESSON")
@click.option("--jobs", type=click.IntRange(min=1), default=2, show_default=True,
              help="nbgrader autograde commands at once, each on its share of the students.")
@click.argument("extra", nargs=-1, type=click.UNPROCESSED)
def nbgrader_autograde(lesson_id: str, jobs: int, extra: tuple[str, ...]) -> None:
    """`nbgrader autograde LESSON` in the current course folder, JOBS commands side by side.

    Further options (e.g. --force) go to every nbgrader command. Exits with the worst of their statuses.
    """
    from grader.integrations.nbgrader_parallel import AutogradeError, autograde

    try:
        code = autograde(Path.cwd(), _lesson(lesson_id).id, jobs, extra, echo=click.echo)
    except AutogradeError as exc:
        _refuse(str(exc))
    sys.exit(code)


@nbgrader_group.command("bench")
@click.option("--lesson", "lesson_id", default="lesson3", show_default=True, help="The lesson to autograde.")
@click.option("--students", type=click.IntRange(min=2), default=30, show_default=True,
              help="Class size (copies of the reference answers).")
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path),
              help="Build the courses in this folder and keep them (default: a temporary folder).")
@click.option("--jobs", type=click.IntRange(min=1), default=2, show_default=True,
              help="Also time the course's class with `course nbgrader autograde --jobs JOBS` (1: skip).")
def nbgrader_bench(lesson_id: str, students: int, keep: Path | None, jobs: int) -> None:
    """Time `nbgrader autograde` of a class with the course grader, next to nbgrader's own baseline."""
    from grader.integrations.nbgrader_bench import bench

    bench(_lesson(lesson_id).id, students, keep, echo=click.echo, jobs=jobs)


# -- students: status, hint, reset, watch (grader/student/) ---------------------------------------------
def _exercise(lesson: registry.LessonSpec, name: str) -> registry.ExerciseSpec:
    try:
        return lesson.exercise(name)
    except KeyError:
        names = ", ".join(e.name for e in lesson.exercises) or "none yet"
        raise click.BadParameter(f"{lesson.id} has no exercise {name!r}; its exercises: {names}",
                                 param_hint="EXERCISE") from None


@main.command()
@click.argument("lesson_ids", metavar="[LESSON]...", nargs=-1)
@click.option("--check", "run_checks", is_flag=True,
              help="Run the public checks of the lessons you have written something in first (seconds each).")
def status(lesson_ids: tuple[str, ...], run_checks: bool) -> None:
    """Every lesson and exercise with its state, a progress bar, and the next thing to do.

    Reads the notebooks as saved and the last recorded checks (.course-progress.json); runs nothing
    unless --check is given.
    """
    from grader.student import status as states

    ids = [_lesson(i).id for i in lesson_ids] or None
    lessons = states.collect(_specs(), ids)
    if run_checks:
        states.check_lessons(lessons, echo=lambda line: click.echo(line, err=True))
        lessons = states.collect(_specs(), ids)
    for line in states.render(lessons):
        click.echo(line)


@main.command()
@click.argument("lesson_id", metavar="LESSON")
@click.argument("exercise_name", metavar="EXERCISE")
@click.option("--solution", is_flag=True,
              help="Show the reference solution (once the exercise passes its public checks; full course only).")
def hint(lesson_id: str, exercise_name: str, solution: bool) -> None:
    """Show the next hint for EXERCISE of LESSON (each call reveals one more)."""
    import shutil
    import textwrap

    from grader.student import hints

    lesson = _lesson(lesson_id)
    exercise = _exercise(lesson, exercise_name)
    where = f"{lesson.id} {exercise.name}"
    width = min(shutil.get_terminal_size((100, 24)).columns, 100)
    if solution:
        code = hints.reference(lesson, exercise)
        if code is None:
            click.echo("The reference solution is not available in this copy of the course (it has no solutions/).")
            sys.exit(1)
        if not hints.public_passed(exercise):
            click.echo(f"checking {where} first (its public checks must pass) ...", err=True)
            failing = hints.check_now(lesson, exercise)
            if failing:
                click.echo(textwrap.fill(f"Not yet: {where} fails public checks ({', '.join(failing)}). The reference "
                                         f"is shown once they pass; `course hint {where}` gives a hint.", width))
                sys.exit(1)
        click.echo(f"Reference solution of {where} (solutions/{lesson.id}/{lesson.id}.ipynb):\n")
        click.echo(code)
        return
    if not exercise.hints:
        click.echo(f"course.yml has no hints for {where} yet: the exercise's text and the checks' messages are "
                   "the guide.")
        return
    shown = hints.next_hint(exercise)
    for number, text in enumerate(shown.shown, start=1):
        label = f"Hint {number}/{shown.total}: "
        click.echo(textwrap.fill(text, width, initial_indent=label, subsequent_indent=" " * len(label),
                                 break_long_words=False, break_on_hyphens=False))
    if len(shown.shown) < shown.total:
        click.echo(f"(`course hint {where}` again for the next one)")
    else:
        more = "That was the last hint." if shown.new else "There are no more hints."
        click.echo(f"{more} Once the public checks pass, `course hint {where} --solution` shows the reference "
                   "(full course only).")


@main.command()
@click.argument("lesson_id", metavar="LESSON")
@click.argument("exercise_name", metavar="[EXERCISE]", required=False)
def reset(lesson_id: str, exercise_name: str | None) -> None:
    """Restore LESSON's notebook (or only EXERCISE's cell) as released, after a timestamped backup."""
    from grader.student import reset as resetting

    lesson = _lesson(lesson_id)
    if not lesson.exercises:
        click.echo(f"{lesson.id} has no exercises yet")
        return
    if exercise_name is not None:
        _exercise(lesson, exercise_name)
    try:
        done = resetting.reset(lesson, exercise_name)
    except resetting.ResetError as exc:
        raise click.ClickException(str(exc)) from None
    if done.backup is not None:
        click.echo(f"kept your notebook as {_shown(done.backup)}")
    what = f"the stub of {exercise_name} in" if exercise_name else "the released"
    click.echo(f"restored {what} {_shown(done.notebook)}; if it is open in JupyterLab, reload it from disk "
               "(File > Reload Notebook from Disk) before saving there")


@main.command()
@click.argument("lesson_id", metavar="[LESSON]", required=False)
@click.option("--submission", type=click.Path(dir_okay=False, path_type=Path),
              help="Watch and check this .ipynb or .py instead of exercises/LESSON/LESSON.ipynb (with LESSON).")
@click.option("--poll", is_flag=True, help="Poll for changes (folders whose file events never arrive).")
def watch(lesson_id: str | None, submission: Path | None, poll: bool) -> None:
    """Re-run the public checks of LESSON (default: every lesson) whenever its notebook or a .py beside it
    is saved. Ctrl-C stops."""
    from grader.student.watch import watch as watch_files

    if submission is not None and lesson_id is None:
        _refuse("--submission needs the LESSON it answers")
    if submission is not None and not submission.is_file():
        _refuse(f"{submission} does not exist")
    lessons = [_lesson(lesson_id)] if lesson_id else [x for x in _specs().lessons if x.exercises]
    if not any(x.exercises for x in lessons):
        click.echo(f"{lessons[0].id} has no exercises yet")
        return
    watch_files(lessons, submission, poll=poll, echo=click.echo, initial=lesson_id is not None)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
