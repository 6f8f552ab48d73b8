"""Hostile and broken submissions (cases.py): each graded through its entry point, then held to its own
expectations and to invariants every case shares (see check_report and Guard)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.adversarial.cases import CASES, CASES_DIR, GENERATED, Case

try:
    from grader.engine.grading import grade
    from grader.engine.registry import ROOT, course
except ImportError:  # the layout before grader/ was grouped by role
    from grader.grading import grade
    from grader.registry import ROOT, course

REPO = Path(ROOT)
CANARY = REPO / "tests" / "adversarial" / "_canary"
SUBMIT_DIR = CANARY / "submission"
REPORT = CANARY / "report.json"  # the --json / --grader-json path the attacks aim at
TARGET = CANARY / "target.txt"
NEIGHBOR = SUBMIT_DIR / "neighbor.txt"
HOME_CANARY = Path.home() / ".course_canary"
TMP_CANARY = Path("/tmp/course_canary.txt")
CANARIES = {TARGET: "canary: repository\n", NEIGHBOR: "canary: next to the submission\n",
            HOME_CANARY: "canary: home\n", TMP_CANARY: "canary: /tmp\n"}
MARK = "advpwn"  # in every file name an attack creates, and in the cwd of the processes it leaves
SLEEP_MARK = "987654"  # `sleep 987654`
PORT = 47613
MESSAGE_CHARS = 2000
STATUSES = {"passed", "failed", "error", "skipped"}
JSON_KEYS = {"lesson", "score", "max_score", "sandbox", "sealed", "checks"}
SCAN_ROOTS = ((REPO, 6), (Path.home(), 2), (Path("/tmp"), 2), (Path("/dev/shm"), 1))
PRUNE = {".venv", ".git", "__pycache__", "node_modules", ".cache", "bash_jobs", ".mirror", ".library"}


# -- the outside world the attacks aim at ------------------------------------------------------------------
class Listener:
    """A TCP server on the host's loopback: any connection from a child is a sandbox escape."""

    def __init__(self) -> None:
        self.connections: list[bytes] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind(("127.0.0.1", PORT))
            self.sock.listen(16)
            self.bound = True
        except OSError:
            self.bound = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while self.bound:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(0.5)
            try:
                self.connections.append(conn.recv(200))
            except OSError:
                self.connections.append(b"")
            conn.close()


@pytest.fixture(scope="session")
def listener():
    server = Listener()
    yield server
    server.bound = False
    server.sock.close()


def _grader_files() -> dict[Path, tuple[bytes, int]]:
    return {p: (p.read_bytes(), p.stat().st_mode) for p in sorted((REPO / "grader").rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def _marked_files() -> list[Path]:
    found = []
    for root, depth in SCAN_ROOTS:
        stack = [(root, 0)]
        while stack:
            folder, level = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                if MARK in entry.name.lower():
                    found.append(Path(entry.path))
                elif entry.is_dir(follow_symlinks=False) and level + 1 < depth and entry.name not in PRUNE \
                        and not entry.name.startswith(("grader-work-", "pytest-of-")):
                    stack.append((Path(entry.path), level + 1))
    return found


def _marked_processes() -> list[tuple[int, str]]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        try:
            cwd = os.readlink(f"/proc/{name}/cwd")
        except OSError:
            cwd = ""
        if SLEEP_MARK in cmdline or MARK in cmdline.lower() or MARK in cwd.lower():
            found.append((int(name), f"{cmdline.strip()[:100]} (cwd {cwd})"))
    return found


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


class Guard:
    """Canaries before a case; afterwards, what changed outside the child's folder (restored, then reported)."""

    def __init__(self, listener: Listener):
        self.listener = listener
        for path in _marked_files():  # leftovers of an earlier, interrupted run
            _remove(path)
        SUBMIT_DIR.mkdir(parents=True, exist_ok=True)
        for path, text in CANARIES.items():
            path.write_text(text)
        REPORT.unlink(missing_ok=True)
        self.grader = _grader_files()
        self.connections = len(listener.connections)

    def problems(self, wait_s: float) -> list[str]:
        time.sleep(wait_s)
        found = []
        for path, text in CANARIES.items():
            try:
                now = path.read_text()
            except OSError as exc:
                now = f"<{exc}>"
            if now != text:
                found.append(f"canary {path} changed: {now[:80]!r}")
                path.write_text(text)
        after = _grader_files()
        for path, (data, mode) in self.grader.items():
            new = after.get(path)
            if new is None:
                found.append(f"{path} removed")
            elif new[0] != data and (MARK in new[0].decode(errors="replace").lower() or path.name == "__init__.py"):
                found.append(f"{path} modified")
            elif new[1] != mode:
                found.append(f"{path} mode changed to {oct(new[1])}")
            else:
                continue
            path.write_bytes(data)  # undo the attack, so later cases see the real grader
            path.chmod(mode)
        for path in set(after) - set(self.grader):
            if MARK in path.name.lower() or MARK in path.read_bytes().decode(errors="replace").lower():
                found.append(f"{path} created")
                path.unlink()
        for path in _marked_files():
            found.append(f"{path} created outside the child's folder")
            _remove(path)
        for pid, what in _marked_processes():
            found.append(f"process {pid} left behind: {what}")
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if len(self.listener.connections) > self.connections:
            found.append(f"network connections reached the host: {self.listener.connections[self.connections:]}")
        return found


# -- grading through each entry point ---------------------------------------------------------------------
def build_generated(name: str, folder: Path) -> Path:
    assert name == "b8_huge_20mb_l3.ipynb"
    honest = json.loads((CASES_DIR / "b8_metadata_null_l3.ipynb").read_text())["cells"][0]["source"]
    blob = "filler " * (3 << 20)  # ~21 MB
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": blob[: len(blob) // 2]},
                    {"cell_type": "code", "metadata": {}, "source": honest, "execution_count": 1,
                     "outputs": [{"output_type": "stream", "name": "stdout", "text": blob[len(blob) // 2:]}]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = folder / name
    path.write_text(json.dumps(nb))
    return path


def submission(case: Case) -> Path:
    SUBMIT_DIR.mkdir(parents=True, exist_ok=True)
    if case.file in GENERATED:
        return build_generated(case.file, SUBMIT_DIR)
    path = SUBMIT_DIR / case.file
    shutil.copyfile(CASES_DIR / case.file, path)
    return path


def _subprocess(args: list[str], limit_s: float) -> subprocess.CompletedProcess:
    """Run in its own session so that a stopped or runaway grader can be ended whole."""
    process = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               errors="replace", start_new_session=True)
    try:
        out, err = process.communicate(timeout=limit_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"the grading command did not finish within {limit_s:g} s (stopped or hung); "
                    f"output tail: {(out + err)[-1500:]}")
    return subprocess.CompletedProcess(args, process.returncode, out, err)


def run_case(case: Case, path: Path) -> tuple[dict, str]:
    """The report as JSON, and the command's output (empty in-process)."""
    if case.entry == "grade":
        report = grade(case.lesson, path, checks=case.checks, timeout_s=case.timeout_s,
                       public_only=case.public_only)
        data = report.to_json()
        json.loads(json.dumps(data, ensure_ascii=False).encode("utf-8"))  # encodable as UTF-8 JSON
        return data, ""
    if case.entry == "cli":
        args = [sys.executable, "-m", "grader", "grade", case.lesson, "--submission", str(path), "--json",
                str(REPORT)] + (["--public-only"] if case.public_only else []) + \
               (["--timeout", str(case.timeout_s)] if case.timeout_s else [])
        done = _subprocess(args, 150)
        assert done.returncode == 0, f"exit {done.returncode}: {(done.stdout + done.stderr)[-2000:]}"
    else:
        args = [sys.executable, "-m", "pytest", "grader", "--submission", str(path), "--lesson", case.lesson,
                "--grader-json", str(REPORT), "-p", "no:cacheprovider", "-q"]
        if case.checks:
            args += ["-k", " or ".join(case.checks)]
        done = _subprocess(args, 150)
        assert done.returncode in (0, 1), f"pytest exit {done.returncode}: {(done.stdout + done.stderr)[-2000:]}"
    time.sleep(2.0)  # a detached process may try to rewrite the report after the command exits
    raw = REPORT.read_bytes()
    return json.loads(raw.decode("utf-8")), done.stdout + done.stderr


def _rows(data: dict, key: str) -> list[dict]:
    exercise, _, check = key.rpartition("::")
    return [c for c in data["checks"] if c["check"] == check and c["device"] == "cpu"
            and exercise in ("", c["exercise"])]


def check_report(case: Case, data: dict, output: str) -> list[str]:
    problems = []
    if set(data) != JSON_KEYS:
        problems.append(f"JSON keys {sorted(data)}")
    if data.get("lesson") != case.lesson:
        problems.append(f"lesson {data.get('lesson')!r}")
    checks = data.get("checks") or []
    if not checks:
        return problems + ["no rows"]
    if abs(data["score"] - sum(c["points"] for c in checks)) > 1e-9 or \
            abs(data["max_score"] - sum(c["max_points"] for c in checks)) > 1e-9:
        problems.append("score/max_score are not the sums of the rows")
    if data["score"] > case.max_score + 1e-9:
        problems.append(f"score {data['score']} exceeds {case.max_score}: "
                        f"{[(c['exercise'], c['check']) for c in checks if c['status'] == 'passed']}")
    if not isinstance(data.get("sandbox"), str) or "\n" in data["sandbox"] or \
            data["sealed"] != data["sandbox"].startswith("sealed"):
        problems.append(f"sandbox field {data.get('sandbox')!r} / sealed {data.get('sealed')!r}")
    for c in checks:
        message = c["message"]
        if c["status"] not in STATUSES:
            problems.append(f"status {c['status']!r}")
        if c["status"] == "passed" and c["points"] != c["max_points"]:
            problems.append(f"{c['check']}: passed with {c['points']} of {c['max_points']}")
        if len(message) > MESSAGE_CHARS:
            problems.append(f"{c['exercise']}::{c['check']} message of {len(message)} chars")
        if any(ch in message for ch in "\n\r\x1b\x00\x07\u2028\u2029"):
            problems.append(f"{c['exercise']}::{c['check']} message not one clean line: {message[:120]!r}")
        try:
            message.encode("utf-8")
        except UnicodeEncodeError:
            problems.append(f"{c['exercise']}::{c['check']} message has lone surrogates")
    messages = " ".join(c["message"] for c in checks).lower()
    for word in case.words:
        if not any(alt.lower() in messages for alt in word.split("|")):
            problems.append(f"no message mentions {word!r}; messages: {messages[:600]}")
    for leak in case.leaks:
        if leak.lower() in messages or (output and leak in output):
            problems.append(f"leak: {leak!r} in the report or output")
    for key in case.not_passed:
        rows = _rows(data, key)
        if not rows or any(r["status"] == "passed" or r["points"] > 0 for r in rows):
            problems.append(f"{key} must not pass: {[(r['status'], r['message'][:200]) for r in rows]}")
    for key in case.passed:
        rows = _rows(data, key)
        if not rows or any(r["status"] != "passed" for r in rows):
            problems.append(f"{key} must pass: {[(r['status'], r['message'][:300]) for r in rows]}")
    if case.entry == "cli" and output and any(s in output for s in ("Traceback", "\x1b[2J", "\x1b]0")):
        problems.append("the CLI printed a traceback or the submission's escape sequences")
    return problems


def honest_afterwards(case: Case) -> list[str]:
    checks = {"lesson3": ["seed_example", "per_example_values"], "lesson5": ["seed_example"],
              "lesson7": ["seed_example"]}[case.lesson]
    report = grade(case.lesson, course().lesson(case.lesson).notebook("solutions"), checks=checks)
    bad = [f"{r.exercise}::{r.check}: {r.status} {r.message[:200]}" for r in report.results
           if r.status not in ("passed", "skipped")]
    if bad or not report.score == report.max_score > 0:
        return [f"the honest submission graded after the attack lost points: {bad}"]
    return []


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case, listener) -> None:
    guard = Guard(listener)
    path = submission(case)
    try:
        data, output = run_case(case, path)
        problems = check_report(case, data, output)
        if case.honest_after:
            problems += honest_afterwards(case)
    finally:
        leftovers = guard.problems((1.0 if case.category == 5 else 0.1) if case.entry == "grade" else 0.2)
        _remove(path)
    assert not problems + leftovers, f"{case.file} ({case.attack}): " + "; ".join(problems + leftovers)


def test_cases_cover_every_category_and_entry_point() -> None:
    assert len(CASES) >= 40
    assert {c.category for c in CASES} == set(range(1, 9))
    counts = {e: sum(c.entry == e for c in CASES) for e in ("grade", "cli", "pytest")}
    assert counts["cli"] >= 5 and counts["pytest"] >= 3, counts
    files = {p.name for p in CASES_DIR.iterdir()} | GENERATED
    assert {c.file for c in CASES} <= files and len({c.file for c in CASES}) == len(CASES)
    assert {c.lesson for c in CASES} == {"lesson3", "lesson5", "lesson6", "lesson7"}
