"""A student's session in a real browser: JupyterLab over a fresh student bundle, driven by Playwright.

The course is released into a temporary folder (`course release`, lesson 3 only), JupyterLab serves it on
127.0.0.1 with the bundle's `grader` first on the kernel's path, and Debian's Chromium (headless, no network
but loopback) does what a student does:
1. opens lesson 3 and runs every cell: the check cell of each stub fails with the stub's NotImplementedError;
2. types a correct `total_scores` into its cell, runs it and its check cell: the check passes;
3. presses nbgrader's Validate: it fails, on the one exercise (Merge) still a stub;
4. types a correct `Merge`, runs its check (passes) and presses Validate again: success.
Screenshots of each step go to tests/artifacts/browser/ (COURSE_ARTIFACTS=DIR moves them).

Needs /usr/bin/chromium (`apt-get install -y chromium`, as the README's install line does) and the
`playwright` package (the dev extra); never `playwright install`. Skipped, with the reason, without them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from grader.authoring import release as releasing
from grader.authoring.stubs import BEGIN, END
from grader.engine.registry import ROOT, course

CHROMIUM = os.environ.get("COURSE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("COURSE_ARTIFACTS") or ROOT / "tests" / "artifacts") / "browser"
LESSON = "lesson3"
NOTEBOOK = f"exercises/{LESSON}/{LESSON}.ipynb"
RUN_TIMEOUT_MS = 180_000  # Run All and each Validate (a whole notebook, with its timing demo) on a loaded 2-core box

sync_api = pytest.importorskip("playwright.sync_api", reason="the browser test needs playwright (the dev extra)")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).is_file(),
                       reason=f"no Chromium at {CHROMIUM}: `apt-get install -y chromium` (or COURSE_CHROMIUM=PATH)"),
]


def _answer(exercise: str) -> str:
    """The reference answer to `exercise`, without its solution markers: what the student types."""
    for cell in nbformat.read(course().lesson(LESSON).notebook("solutions"), as_version=4).cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == exercise:
            return "\n".join(line for line in cell.source.splitlines() if line.strip() not in (BEGIN, END))
    raise LookupError(f"no solution cell for {exercise}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "course"
    releasing.release(out, lesson_ids=[LESSON], echo=lambda line: None)
    return out


@pytest.fixture(scope="module")
def lab(bundle: Path, tmp_path_factory) -> Iterator[str]:
    """JupyterLab on 127.0.0.1 over the bundle; its kernels import the bundle's grader, not the course's."""
    home = tmp_path_factory.mktemp("home")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_PROGRESS", "PYTEST_ADDOPTS", "JUPYTER_CONFIG_DIR")}
    env.update(HOME=str(home), PYTHONPATH=str(bundle), PYTHONDONTWRITEBYTECODE="1",
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"))
    log = open(home / "jupyter.log", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
         "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={bundle}",
         "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=bundle, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited ({server.returncode}):\n{(home / 'jupyter.log').read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{url}/api/status", timeout=2):
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer in 90 s:\n{(home / 'jupyter.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, 15)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def page(lab: str, bundle: Path, tmp_path_factory):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium")), executable_path=CHROMIUM, headless=True,
            viewport={"width": 1400, "height": 1000},
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        context.set_default_timeout(60_000)
        # only the lab itself: any other address is refused rather than attempted
        context.route(re.compile(r"^(?!http://127\.0\.0\.1:).*"), lambda route: route.abort())
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.goto(f"{lab}/lab/tree/{NOTEBOOK}")
            cells = len(nbformat.read(bundle / NOTEBOOK, as_version=4).cells)
            page.wait_for_function(  # every cell rendered, not just the first ones (slow on a loaded machine)
                "n => document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell').length === n",
                arg=cells, timeout=RUN_TIMEOUT_MS, polling=250)
            with contextlib.suppress(sync_api.Error):  # JupyterLab's "notified about news?" toast, if it comes
                page.locator(".jp-toast-button", has_text=re.compile(r"^No$")).click(timeout=5_000)
            _wait_idle(page)
            yield page
        finally:
            context.close()


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=False)


def _wait_idle(page, timeout: int = RUN_TIMEOUT_MS) -> None:
    """The kernel is idle and no cell is queued or running (no `[*]` prompt)."""
    page.wait_for_function(
        """() => {
            const status = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
            if (status && status.getAttribute('data-status') !== 'idle') return false;
            return ![...document.querySelectorAll('.jp-NotebookPanel .jp-InputPrompt')]
                .some(p => p.textContent.includes('*'));
        }""", timeout=timeout, polling=250)


def _cell(page, text: str):
    """The code cell whose source contains `text`."""
    cell = page.locator(".jp-NotebookPanel .jp-CodeCell").filter(
        has=page.locator(".cm-content", has_text=text))
    sync_api.expect(cell, f"one code cell containing {text!r}").to_have_count(1, timeout=60_000)
    return cell


def _output(cell) -> str:
    """The cell's output as text (text_content: JupyterLab skips rendering cells out of view)."""
    return cell.locator(".jp-OutputArea").text_content() or ""


def _run_menu(page, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}$")).click()


def _type_answer(page, exercise: str, marker: str) -> None:
    """Replace the exercise cell's text with a correct answer through the editor, then run it and its check."""
    editor = _cell(page, marker).locator(".cm-content")
    editor.scroll_into_view_if_needed()
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(_answer(exercise))  # one input event: no auto-indent of each typed line
    page.keyboard.press("Shift+Enter")  # runs the answer, moves to its check cell
    _wait_idle(page)
    page.keyboard.press("Shift+Enter")  # runs the check
    _wait_idle(page)


def _validate(page) -> str:
    page.keyboard.press("Control+s")
    page.locator(".jp-NotebookPanel .validate-button").click()
    dialog = page.locator(".jp-Dialog").filter(has=page.locator(".validation-failed, .validation-success"))
    dialog.wait_for(timeout=RUN_TIMEOUT_MS)
    return dialog.inner_text()


def _close_dialog(page) -> None:
    page.locator(".jp-Dialog .jp-Dialog-button").last.click()
    page.locator(".jp-Dialog").wait_for(state="detached")


def test_a_student_session_in_jupyterlab(page):
    merge_check, scores_check = _cell(page, "check(Merge)"), _cell(page, "check(total_scores)")
    assert "raise NotImplementedError" in _cell(page, "def total_scores").locator(".cm-content").text_content()

    # 1. Run All on the stubs: each check cell fails with the stub's own message, and the run reaches the end
    _run_menu(page, "Run All Cells")
    _wait_idle(page)
    _shot(page, "1-run-all-on-stubs")
    for check, exercise in ((merge_check, "Merge"), (scores_check, "total_scores")):
        out = _output(check)
        assert f'NotImplementedError: "{LESSON}: {exercise}"' in out or \
            f"NotImplementedError: {LESSON}: {exercise}" in out, out
        assert f"ChecksFailed: {exercise}:" in out, out
    last = page.locator(".jp-NotebookPanel .jp-CodeCell").last.locator(".jp-InputPrompt").text_content()
    assert re.search(r"\[\d+\]", last), f"Run All stopped before the last cell: its prompt is {last!r}"

    # 2. a correct total_scores, typed into the page: its check passes
    _type_answer(page, "total_scores", "def total_scores")
    scores_check.scroll_into_view_if_needed()
    _shot(page, "2-total-scores-passes")
    out = _output(scores_check)
    assert "ChecksFailed" not in out and "[FAIL]" not in out, out
    assert re.search(r"(\d+)/\1 public checks passed", out), out

    # 3. Validate agrees: it fails, on Merge (still a stub) and on nothing else
    text = _validate(page)
    _shot(page, "3-validate-fails-on-merge")
    assert "Success" not in text and "ChecksFailed: Merge" in text, text
    assert "ChecksFailed: total_scores" not in text, text
    _close_dialog(page)

    # 4. a correct Merge too: its check passes and Validate says success
    _type_answer(page, "Merge", "class Merge")
    merge_check.scroll_into_view_if_needed()
    out = _output(merge_check)
    assert "ChecksFailed" not in out and re.search(r"(\d+)/\1 public checks passed", out), out
    text = _validate(page)
    _shot(page, "4-validate-succeeds")
    assert "Success! Your notebook passes all the tests." in text, text
    _close_dialog(page)
