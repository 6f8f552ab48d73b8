"""A student's submission: read its code (notebook or .py), run it into a fresh module, look names up.

Reading happens in the grader's process; running happens wherever the code must live (the isolated
child for hidden grading, the student's own process for self-checks).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import linecache
import signal
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
    """`Type: message (at <cell 3> line 4)`: the innermost frame of the student's own code."""
    where = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.startswith("<") and not frame.filename.startswith(("<frozen", "<string")):
            where = f" (at {frame.filename.strip('<>')}, line {frame.lineno}: `{(frame.line or '').strip()}`)"
            break
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}{where}" if message else f"{type(exc).__name__}{where}"
