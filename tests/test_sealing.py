"""Does the engine hold when the code it grades is hostile? Unit-level proofs of the sealing properties
(the hostile submissions themselves are in tests/adversarial/)."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
import torch

from grader.engine import wire
from grader.engine.grading import clean_message, grade
from grader.engine.registry import ROOT
from grader.engine.runners import IsolatedRunner, _forkserver_pid, start_forkserver
from grader.engine.submission import CodeCell, read_code
from grader.probes.lesson3 import probe_total_scores


def _runner(source: str) -> IsolatedRunner:
    """A child running `source` directly: the static scan is bypassed, so only the sandbox stands."""
    return IsolatedRunner([CodeCell("cell 1", source)], memory_mb=1024, threads=1, load_timeout_s=30)


def _flags(source: str) -> list[float]:
    with _runner(source) as runner:
        runner.start_check(60)
        y = runner.call(probe_total_scores, torch.zeros(1, 1, 1), torch.zeros(1), "cpu")["y"]
        if not runner.sealed:
            pytest.skip(f"this machine offers no file sandbox: {runner.sandbox}")
        return y.tolist()


def test_the_child_holds_no_judge_and_cannot_read_one():
    """Are the judges, the solutions and the course registry out of the child's reach?"""
    flags = _flags(f"""
import sys, torch
def readable(path):
    try:
        open(path, "rb").read(1)
        return 1.0
    except OSError:
        return 0.0
FLAGS = [float(any(m.startswith("grader.lessons") for m in sys.modules)),
         readable({str(ROOT / "grader" / "lessons" / "lesson3.py")!r}),
         readable({str(ROOT / "solutions" / "lesson3" / "lesson3.ipynb")!r}),
         readable({str(ROOT / "course.yml")!r}),
         readable({str(ROOT / "tests" / "mutants.py")!r}),
         readable(torch.__file__)]
def total_scores(item_scores, bias):
    return torch.tensor(FLAGS)
""")
    assert flags == [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]


def test_the_child_cannot_write_outside_its_folder_signal_the_grader_or_connect(tmp_path):
    """Can graded code write the repository or the home folder, signal its judge, or open a TCP socket?"""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    target = tmp_path / "written.txt"
    flags = _flags(f"""
import os, socket, torch
def attempt(fn):
    try:
        fn()
        return 1.0
    except OSError:
        return 0.0
FLAGS = [attempt(lambda: open({str(target)!r}, "w").write("x")),
         attempt(lambda: open({str(ROOT / "grader" / "compare.py")!r}, "a").write("# x")),
         attempt(lambda: open(os.path.expanduser("~/.course_sealing_test"), "w").write("x")),
         attempt(lambda: os.kill({os.getpid()}, 0)),
         attempt(lambda: socket.create_connection(("127.0.0.1", {server.getsockname()[1]}), timeout=2)),
         attempt(lambda: open("own.txt", "w").write("x"))]
def total_scores(item_scores, bias):
    return torch.tensor(FLAGS)
""")
    server.close()
    assert flags == [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    assert not target.exists() and not os.path.exists(os.path.expanduser("~/.course_sealing_test"))


def test_processes_started_by_graded_code_do_not_outlive_it():
    """Does a detached, double-forked sleeper die with the child?"""
    marker = "987653"
    with _runner(f"""
import os, time, torch
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "{marker}"])
    os._exit(0)
time.sleep(0.5)
def total_scores(item_scores, bias):
    return torch.zeros(1)
""") as runner:
        runner.start_check(60)
        runner.call(probe_total_scores, torch.zeros(1, 1, 1), torch.zeros(1), "cpu")
        namespaced = runner.namespaced
    time.sleep(0.5)
    left = _processes_with(marker)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    if not namespaced:
        pytest.skip("no pid namespace here: a detached process can escape (the report says so)")
    assert not left


def _processes_with(marker: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def test_a_stopped_forkserver_does_not_hang_grading(tmp_path):
    """If something stops the forkserver (SIGSTOP), is the next child still started?"""
    start_forkserver()
    os.kill(_forkserver_pid(), signal.SIGSTOP)
    path = tmp_path / "ok.py"
    path.write_text("import torch\n\n\ndef total_scores(item_scores, bias):\n"
                    "    return item_scores.sum(dim=(1, 2)) + bias\n")
    report = grade("lesson3", path, checks=["per_example_values"], timeout_s=30)
    assert [r.status for r in report.results if r.device == "cpu"] == ["passed"]


def test_a_stride0_reply_is_refused_before_it_is_materialised():
    """Does a few-byte reply that stands for a 30000 x 30000 tensor get refused, not allocated?"""
    payload = wire.dumps({"y": torch.zeros(1).expand(30000, 30000)})
    assert len(payload) < 10_000
    with pytest.raises(wire.NotData, match="overlapping"):
        wire.loads(payload)
    with pytest.raises(wire.NotData, match="bytes"):
        wire.loads(b"x" * 100, max_bytes=10)
    with pytest.raises(wire.NotData, match="MiB"):
        wire.loads(wire.dumps([torch.zeros(1000)] * 10), max_tensor_bytes=1000)


def test_messages_are_one_capped_printable_line():
    """4 MB messages, lone surrogates, newlines and terminal escapes: is what reaches the report safe?"""
    text = clean_message("a\ud800b\n\x1b[31mred\x1b[0m\t" + "x" * 4_000_000)
    assert len(text) <= 2000 and "\n" not in text and "\x1b" not in text
    json.dumps(text).encode("utf-8")
    text.encode("utf-8")


@pytest.mark.parametrize("cells", [
    [{"cell_type": "code", "metadata": None, "source": "x = 1"}],
    [{"cell_type": "code", "metadata": {"tags": 5}, "source": "x = 1"}],
    [{"cell_type": "code", "metadata": {"tags": [5, None]}, "source": ["x = ", 1]}],
])
def test_malformed_notebook_fields_do_not_crash_the_reader(tmp_path, cells):
    """null metadata, tags that are not a list: read as no tags, not a crash."""
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    assert [c.label for c in read_code(path)] == ["cell 1"]


def test_a_notebook_whose_source_is_not_text_gets_a_report(tmp_path):
    path = tmp_path / "lesson3.ipynb"
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "source": 5}], "metadata": None,
                                "nbformat": 4, "nbformat_minor": 5}))
    report = grade("lesson3", path, checks=["per_example_values"], timeout_s=10)
    cpu = [r for r in report.results if r.device == "cpu"]
    assert cpu and all(r.status == "error" and "not text" in r.message for r in cpu)


def test_tampering_is_refused_with_its_location(tmp_path):
    """Code that reaches into the grader is not run; every row names the line."""
    path = tmp_path / "hostile.py"
    path.write_text("import torch\nimport grader.probes.lesson3 as P\n\ndef total_scores(x, b):\n    return b\n")
    report = grade("lesson3", path, timeout_s=10)
    judged = [r for r in report.results if r.status != "skipped"]
    assert report.score == 0 and judged
    assert all(r.message.startswith("not graded: cell") or "line 2" in r.message for r in judged), judged[0]
    assert report.sandbox.startswith("not run")
