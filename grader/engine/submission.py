"""A student's submission: read its code (notebook or .py), run it into a fresh module, look names up.

Reading happens in the grader's process; running happens wherever the code must live (the isolated
child for hidden grading, the student's own process for self-checks).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import linecache
import os
import signal
import sys
import threading
import traceback
import types
from collections.abc import Iterator
from pathlib import Path

SKIPPED_TAGS = {"selfcheck", "demo"}  # our check calls and illustrations: not the answer


class SubmissionUnreadable(ValueError):
    """The file cannot be read as a notebook or Python source."""


@dataclasses.dataclass(frozen=True)
class CodeCell:
    label: str  # "cell 7" or the file name; shown in messages
    source: str


def read_code(path: Path | str) -> list[CodeCell]:
    """The code of a .py file, or of a notebook's code cells minus those tagged `selfcheck` or `demo`."""
    path = Path(path)
    if not path.is_file():
        raise SubmissionUnreadable(f"{path}: no such file")
    if path.suffix == ".py":
        return [CodeCell(path.name, path.read_text(encoding="utf-8", errors="replace"))]
    if path.suffix != ".ipynb":
        raise SubmissionUnreadable(f"{path}: expected a .ipynb notebook or a .py file")
    try:  # plain json: nbformat's schema validation costs seconds of imports and is not needed here
        nb = json.loads(path.read_text(encoding="utf-8"))
        raw_cells = nb["cells"]
        if not isinstance(raw_cells, list):
            raise TypeError("'cells' is not a list")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise SubmissionUnreadable(f"{path}: not a readable notebook ({type(exc).__name__}: {exc})") from exc
    cells = []
    for number, cell in enumerate(raw_cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        if SKIPPED_TAGS & _tags(cell):
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(part if isinstance(part, str) else "" for part in source)
        elif not isinstance(source, str):
            raise SubmissionUnreadable(f"{path}: cell {number} has a source that is not text")
        cells.append(CodeCell(f"cell {number}", _python_source(source)))
    return cells


def _tags(cell: dict) -> set[str]:
    """A cell's tags; a malformed metadata or tags field (null, a number) counts as no tags."""
    metadata = cell.get("metadata")
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    return {t for t in tags if isinstance(t, str)} if isinstance(tags, list) else set()


def _python_source(source: str) -> str:
    """Notebook code may hold IPython syntax (%magics, !shell); turn it into plain Python calls."""
    if "%" not in source and "!" not in source:
        return source
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:
        return source
    try:
        return TransformerManager().transform_cell(source)
    except Exception:
        return source


class _NoIPython:
    """Stands in for get_ipython() when notebook code is run outside a kernel: magics do nothing."""

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: None


class CellTimeout(Exception):
    pass


@dataclasses.dataclass
class Submission:
    """The student's names after running their code, plus what went wrong while running it."""

    module: types.ModuleType
    problems: list[str] = dataclasses.field(default_factory=list)

    def get(self, name: str):
        from grader.engine.checks import StudentError

        if name in vars(self.module):
            return vars(self.module)[name]
        hint = f" While loading: {'; '.join(self.problems)}" if self.problems else ""
        raise StudentError(f"`{name}` is not defined in your submission.{hint}")


@contextlib.contextmanager
def alarm(seconds: float, exc: type[BaseException], message: str) -> Iterator[None]:
    """Raise `exc(message)` in this thread after `seconds` (main thread only; elsewhere, no limit)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def ring(signum, frame):
        raise exc(message)

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_cells(cells: list[CodeCell], *, cell_timeout_s: float = 0, name: str = "submission") -> Submission:
    """Run each cell into one fresh module. A cell that raises or overruns is recorded and skipped."""
    module = types.ModuleType(name)
    module.__dict__["get_ipython"] = _NoIPython
    sub = Submission(module)
    for cell in cells:
        filename = f"<{cell.label}>"
        linecache.cache[filename] = (len(cell.source), None, cell.source.splitlines(True), filename)
        try:
            code = compile(cell.source, filename, "exec")
        except SyntaxError as exc:
            sub.problems.append(f"{cell.label} has a syntax error at line {exc.lineno}: {exc.msg}")
            continue
        try:
            with alarm(cell_timeout_s, CellTimeout, f"{cell.label} ran longer than {cell_timeout_s:g} s"):
                exec(code, module.__dict__)
        except CellTimeout as exc:
            sub.problems.append(f"{exc} and was stopped")
        except MemoryError:
            sub.problems.append(f"{cell.label} ran out of memory")
        except BaseException as exc:  # noqa: BLE001 - any failure of student code is data, even SystemExit
            sub.problems.append(f"{cell.label} raised {describe_exception(exc)}")
    return sub


def describe_exception(exc: BaseException) -> str:
    """`Type: message (at cell 3, line 4: `code`)`: the innermost frame of the student's own code."""
    where = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        label = _cell_label(frame.filename)
        if label:
            where = f" (at {label}, line {frame.lineno}: `{(frame.line or '').strip()}`)"
            break
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}{where}" if message else f"{type(exc).__name__}{where}"


def _cell_label(filename: str) -> str | None:
    """The cell a frame ran in: `cell 3` for run_cells' `<cell 3>`, the same for a live notebook kernel's
    cell (see _kernel_cell_label), None for code outside the student's cells."""
    if filename.startswith("<") and not filename.startswith(("<frozen", "<string")):
        return filename.strip("<>")
    return _kernel_cell_label(filename)


def _kernel_cell_label(filename: str) -> str | None:
    """In a Jupyter kernel (the notebook's `check(obj)`), a cell's code is compiled under a temporary file
    name. Name it as `course grade` would: `cell 7` when its code is that of the saved notebook's 7th cell,
    else IPython's own `cell In[5]` (the cell was edited since the last save)."""
    ipython = sys.modules.get("IPython")
    try:
        shell = ipython.get_ipython() if ipython is not None else None
        known = shell.compile.format_code_name(filename) if shell is not None else None
    except Exception:  # an old or unusual shell: no location rather than a failing self-check
        return None
    if not known:
        return None
    source = "".join(linecache.getlines(filename)).strip()
    for notebook, mtime_ns in _saved_notebooks(shell).items():
        for cell in _notebook_cells(notebook, mtime_ns):
            if cell.source.strip() == source:
                return cell.label
    return f"cell {known[1]}"


def _saved_notebooks(shell) -> dict[str, int]:
    """The kernel's notebook (Jupyter tells the kernel its path), then the notebooks in its folder, each
    with its modification time."""
    session = getattr(shell, "user_ns", {}).get("__session__") or os.environ.get("JPY_SESSION_NAME") or ""
    found: dict[str, int] = {}
    try:
        candidates = [Path(session), Path.cwd() / Path(session).name] if session else []
        candidates += sorted(Path.cwd().glob("*.ipynb"))[:20]
    except OSError:  # the kernel's folder is gone
        return found
    for path in candidates:
        try:
            if path.suffix == ".ipynb" and path.is_file():
                found.setdefault(str(path.resolve()), path.stat().st_mtime_ns)
        except OSError:
            continue
    return found


@functools.lru_cache(maxsize=8)
def _notebook_cells(path: str, mtime_ns: int) -> tuple[CodeCell, ...]:
    try:
        return tuple(read_code(path))
    except (SubmissionUnreadable, OSError):
        return ()
