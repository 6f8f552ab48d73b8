"""The judge: a clean process that grades notebooks for nbgrader with `grader.engine.grading.grade`.

nbgrader's process starts one judge per command and sends it one request per notebook; the judge
answers with the report `course grade` would print. It never runs student code itself: `grade` runs
each submission in isolated children (timeout, memory limit) forked from a forkserver, and judges
their data here. The judge starts that forkserver once, with torch, the lessons' check modules and the
judging helpers' first-use imports already paid, so a class pays them once, not once per student.

Protocol: one JSON line per request on stdin, `{"lesson", "notebook", "timeout_s"}` (the notebook itself,
so nothing the student's kernel can reach on disk feeds the grade), one JSON line per reply on the
original stdout, `{"results": [...]}` or `{"error": "..."}`. Anything else the judge prints goes to stderr.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

from grader.engine.report import CheckResult, Report

_SHARED: Judge | None = None


class JudgeError(RuntimeError):
    """The judge could not grade (its own failure, never the student's)."""


class Judge:
    """Client side: a judge process owned by this (nbgrader's) process."""

    def __init__(self) -> None:
        # A private working folder for the judge and the children it forks: files that student code
        # writes land there, not in the course directory. -I keeps that folder (any cwd) off sys.path, so
        # a file a submission writes can never be imported by the judge. No __main__ file: children
        # import nothing extra when they start.
        self.folder = tempfile.mkdtemp(prefix="course-judge-")
        code = "from grader.integrations.nbgrader_judge import main; main()"
        self.process = subprocess.Popen([sys.executable, "-I", "-c", code], cwd=self.folder, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=None, text=True, bufsize=1)
        atexit.register(self.close)
        self.lesson: str | None = None

    @classmethod
    def shared(cls) -> Judge:
        global _SHARED
        if _SHARED is None or _SHARED.process.poll() is not None:
            _SHARED = cls()
        return _SHARED

    def submit(self, lesson: str, notebook: dict[str, Any], timeout_s: float | None) -> None:
        """Ask for a report on `notebook`; `result` collects it (meanwhile this process may do other work)."""
        request = {"lesson": lesson, "notebook": notebook, "timeout_s": timeout_s}
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
        except OSError as exc:
            raise JudgeError(f"the grading process is gone ({exc})") from None
        self.lesson = lesson

    def result(self, deadline_s: float) -> Report:
        """The report for the last request, waiting at most `deadline_s` seconds."""
        end = time.monotonic() + deadline_s
        out = self.process.stdout
        while not select.select([out], [], [], max(0.0, min(1.0, end - time.monotonic())))[0]:
            if self.process.poll() is not None:
                raise JudgeError(f"the grading process exited with code {self.process.returncode}")
            if time.monotonic() > end:
                self.close()
                raise JudgeError(f"no report after {deadline_s:g} s; the grading process was stopped")
        line = out.readline()
        if not line:
            raise JudgeError(f"the grading process exited with code {self.process.wait()}")
        reply = json.loads(line)
        if "error" in reply:
            raise JudgeError(reply["error"])
        return Report(self.lesson, [CheckResult(**row) for row in reply["results"]], sandbox=reply.get("sandbox", ""))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()  # the judge's loop ends; its forkserver follows
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


# -- server side -----------------------------------------------------------------------------------------
def main() -> None:
    """Serve requests until stdin closes. stdin/stdout carry the protocol only: children never see them."""
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    warm_up()
    for line in requests:
        request = json.loads(line)
        replies.write(json.dumps(answer(request)) + "\n")
        replies.flush()


def answer(request: dict[str, Any]) -> dict[str, Any]:
    from grader.engine.grading import grade
    from grader.integrations.nbgrader_cell import gradable_copy

    start = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="course-judge-") as folder:
            path = gradable_copy(request["notebook"], folder)
            report = grade(request["lesson"], path, timeout_s=request.get("timeout_s"))
    except Exception as exc:  # the grader's own failure: reported, never turned into a student's score
        return {"error": f"{type(exc).__name__}: {exc}"}
    print(f"[course judge] {request['lesson']}: graded in {time.monotonic() - start:.2f} s, "
          f"{report.score:g}/{report.max_score:g} points", file=sys.stderr, flush=True)
    return {"results": [dataclasses.asdict(r) for r in report.results], "sandbox": report.sandbox}


def warm_up() -> None:
    """Import the judge's modules and start the engine's warm forkserver before the first notebook."""
    from grader.engine import registry
    from grader.engine.checks import implementations
    from grader.engine.runners import start_forkserver

    for lesson in registry.course().lessons:
        if lesson.exercises:
            implementations(lesson.module)
    start_forkserver()
