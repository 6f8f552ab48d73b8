"""Does the static scan flag tampering (and nothing in honest code), and find references to torch built-ins?"""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.engine.registry import course
from grader.engine.submission import CodeCell, read_code
from grader.judging.source_scan import Finding, attribute_calls, attribute_calls_in, definition_source, tampering

ROOT = Path(__file__).resolve().parent.parent
LESSONS = tuple(lesson.id for lesson in course().lessons if lesson.exercises)
SUBMISSIONS = sorted((ROOT / "tests" / "submissions").glob("*/*.py"))


def course_cells() -> frozenset[str]:
    """The course's own cells that students leave unchanged: the exercise notebooks' graded cells (read_code
    already drops those tagged demo/selfcheck, where `from grader.selfcheck import check` lives) that hold no
    exercise, i.e. neither `### BEGIN SOLUTION` nor the stub's `raise NotImplementedError`. Today there are
    none, so honest code passes with nothing trusted; a caller grading hidden submissions builds it the same way."""
    trusted = set()
    for lesson in LESSONS:
        for cell in read_code(ROOT / "exercises" / lesson / f"{lesson}.ipynb"):
            if "### BEGIN SOLUTION" not in cell.source and "raise NotImplementedError" not in cell.source:
                trusted.add(cell.source.strip())
    return frozenset(trusted)


def one(source: str) -> list[Finding]:
    return tampering([CodeCell("cell 1", source)])


# -- honest code ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [ROOT / "solutions" / lesson / f"{lesson}.ipynb" for lesson in LESSONS] +
                         [ROOT / "exercises" / lesson / f"{lesson}.ipynb" for lesson in LESSONS] + SUBMISSIONS,
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_honest_code_has_no_findings(path):
    cells = read_code(path)
    assert cells
    assert tampering(cells, trusted=course_cells()) == []


@pytest.mark.parametrize("source", [
    "import sys\nsys.exit(0)",
    "import os\nos._exit(3)",
    "import os\npath = os.path.join(os.getcwd(), os.environ.get('HOME', ''))",
    "print(torch.__version__, getattr(torch, 'float16'), hasattr(x, 'shape'), getattr(self, name))",
    "fast = torch.compile(f)",
    "import re\npattern = re.compile('a+')",
    "from re import compile\npattern = compile('a+')",
    "import threading\nthreading.Thread(target=print).start()",
    "open('out.txt', 'w').write('x')\nimport pathlib\npathlib.Path('y').write_text('z')",
    "get_ipython().run_line_magic('timeit', 'softmax(x)')",
    "from torch.utils import benchmark\nbenchmark.Timer('f(x)', globals=globals()).blocked_autorange()",
    "import timeit\ntimeit.timeit(lambda: f(x), number=3)",
    "y = torch.special.logsumexp(x, 1) + x._version + x.__class__.__name__.__len__()",
    "class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.w = nn.Parameter(x)",
    "import numpy as np\nnp.random.seed(0)\nrng = np.random.default_rng(0)",
    "def f(x):\n    return x\n\n\nf.cache = {}",
    "for torch_name in ('softmax',):\n    value = torch_name",
])
def test_honest_snippets_have_no_findings(source):
    assert one(source) == []


def test_ipython_magics_read_from_a_notebook_are_not_findings(tmp_path):
    import json

    nb = {"cells": [{"cell_type": "code", "metadata": {}, "source": "%timeit softmax(x)\n!ls\ny = 1\n"}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "a.ipynb").write_text(json.dumps(nb))
    assert tampering(read_code(tmp_path / "a.ipynb")) == []


# -- hostile code -----------------------------------------------------------------------------------------------
HOSTILE = [  # (source, line of a finding, words in its reason)
    ("import grader.lessons.lesson3 as L\nL.probe_merge_forward = f", 1, "reaches into the grader"),
    ("import grader.lessons.lesson3 as L\nL.probe_merge_forward = f", 2, "monkeypatches grader"),
    ("import grader.mutants\nexec(grader.mutants.reference_code('lesson7'))", 2, "runs code built from text"),
    ("m = __import__('gra' + 'der')", 1, "`__import__`"),
    ("import importlib\nm = importlib.import_module('grader')", 1, "importlib"),
    ("import torch\nsm = getattr(torch, 'soft' + 'max')", 2, "computed name"),
    ("y = getattr(F, name)(x)", 1, "computed name"),
    ("with torch._C.DisableTorchFunction():\n    y = x + 1", 1, "private API (`torch._C`)"),
    ("y = torch.ops.aten._softmax.default(x, 1, False)", 1, "`torch.ops`"),
    ("from torch.utils._python_dispatch import _disable_current_modes", 1, "torch.utils._python_dispatch"),
    ("import gc\nobjects = gc.get_objects()", 1, "`gc`"),
    ("import inspect\nframes = inspect.stack()", 1, "`inspect`"),
    ("import sys\nnames = sys._getframe(1).f_back.f_globals", 2, "`sys._getframe`"),
    ("import sys\nnames = sys._getframe(1).f_back.f_globals", 2, "`f_globals`"),
    ("import sys\nsys.modules['grader.timing'].median_times = lambda *a: [1.0]", 2, "`sys.modules`"),
    ("import sys\nsys.modules['grader.timing'].median_times = lambda *a: [1.0]", 2, "monkeypatches grader"),
    ("import ctypes", 1, "calls C code"),
    ("import os\nos.kill(os.getppid(), 9)", 2, "sends signals"),
    ("pid = os.fork()", 1, "starts processes (`os.fork`)"),
    ("os.execv('/bin/sh', ['sh'])", 1, "`os.execv`"),
    ("os.setsid()", 1, "process group"),
    ("import subprocess\nsubprocess.run(['true'])", 1, "starts processes"),
    ("import multiprocessing as mp", 1, "starts processes"),
    ("import socket", 1, "network"),
    ("import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)", 1, "signals"),
    ("import torch\ntorch.cat = slow_cat", 2, "monkeypatches torch (`torch.cat`)"),
    ("import torch.nn.functional as F\nF.cross_entropy = slow", 2, "`torch.nn.functional.cross_entropy`"),
    ("torch.Tensor.softmax = lambda self, dim: self", 1, "monkeypatches torch"),
    ("torch.nn.Linear.forward = my_forward", 1, "monkeypatches torch"),
    ("from torch import Tensor\nTensor.sum = my_sum", 2, "monkeypatches torch"),
    ("torch.calls += 1", 1, "monkeypatches torch"),
    ("del torch.softmax", 1, "monkeypatches torch"),
    ("setattr(torch, 'cat', slow_cat)", 1, "monkeypatches torch"),
    ("object.__setattr__(torch, 'cat', slow_cat)", 1, "monkeypatches torch"),
    ("torch.__dict__['cat'] = slow_cat", 1, "monkeypatches torch"),
    ("vars(torch)['cat'] = slow_cat", 1, "namespace of `torch`"),
    ("fn.__code__ = other.__code__", 1, "introspects the interpreter (`__code__`)"),
    ("classes = ().__class__.__bases__[0].__subclasses__()", 1, "`__subclasses__`"),
    ("class T(torch.Tensor):\n    @classmethod\n    def __torch_function__(cls, func, types, args=(), kw=None):\n"
     "        return super().__torch_function__(func, types, args, kw or {})", 3, "op recorder"),
    ("from torch.overrides import TorchFunctionMode", 1, "op recorder"),
    ("class Quiet(TorchDispatchMode):\n    pass", 1, "op recorder"),
    ("import builtins\nbuiltins.len = lambda x: 0", 2, "replaces a built-in (`builtins.len`)"),
    ("__builtins__['len'] = lambda x: 0", 1, "`__builtins__`"),
    ("from os import kill\nkill(1, 9)", 1, "signals to processes (`os.kill`)"),
    ("from os import kill\nkill(1, 9)", 2, "signals to processes (`os.kill`)"),
    ("from sys import modules", 1, "`sys.modules`"),
    ("import sys as s\ns.settrace(None)", 2, "traces the interpreter"),
    ("value = eval('1')", 1, "`eval`"),
    ("code = compile('x', 'f', 'exec')", 1, "`compile`"),
    ("breakpoint()", 1, "debugger"),
    ("names = globals()", 1, "`globals`"),
    ("def softmax(x, dim=-1):\n    import gc\n    gc.collect()\n    return x", 2, "`gc`"),
    ("class Merge(nn.Module):\n    def forward(self, a, b):\n        torch.nn.Linear.forward = lambda *args: a\n"
     "        return a", 3, "monkeypatches torch"),
    ("f = lambda x, _=exec('import os'): x", 1, "runs code built from text"),
    ("def f():\n    try:\n        1 / 0\n    except Exception as e:\n        return e.__traceback__.tb_frame.f_back",
     5, "`tb_frame`"),
    ("y = torch.Tensor._make_subclass(T, x)", 1, "`torch.Tensor._make_subclass`"),
    ("import torch._dynamo", 1, "`torch._dynamo`"),
    ("from torch import _C", 1, "`torch._C`"),
    ("from torch.library import Library", 1, "`torch.library`"),
    ("class R:\n    def __reduce__(self):\n        return (os.system, ('true',))", 2, "pickled"),
    ("y = (\n    x\n    + torch._C._nn.gelu(x)\n)", 3, "`torch._C`"),
    ("from torch.utils import benchmark\nbenchmark.Timer('import grader').timeit(1)", 2, "reaches into the grader"),
    ("import timeit\ntimeit.timeit('gc.' + 'collect()')", 2, "runs code built from text"),
    ("from os import *", 1, "imports everything from `os`"),
    ("code = getattr(fn, '__code__')", 1, "`__code__`"),
    ("getattr(os, 'system')('true')", 1, "starts processes (`os.system`)"),
    ("import torch as t\nt._dynamo.reset()", 2, "`torch._dynamo`"),
]


@pytest.mark.parametrize("source, line, words", HOSTILE)
def test_hostile_snippet_is_found_at_its_line(source, line, words):
    findings = one(source)
    assert any(f.cell == "cell 1" and f.line == line and words in f.what for f in findings), findings
    code = source.splitlines()[line - 1].strip()
    assert any(f.code == code[:80] or f.code == code[:77] + "..." for f in findings if f.line == line)


def test_at_least_thirty_hostile_snippets():
    assert len({source for source, _, _ in HOSTILE}) >= 30


def test_findings_name_the_cell_and_line_across_cells():
    cells = [CodeCell("cell 3", "import torch.nn.functional as G\n"), CodeCell("cell 5", "x = 1\n\nG.softmax = f\n")]
    [finding] = tampering(cells)
    assert (finding.cell, finding.line, finding.code) == ("cell 5", 3, "G.softmax = f")
    assert finding.describe() == "cell 5, line 3: `G.softmax = f` monkeypatches torch (`torch.nn.functional.softmax`)"


def test_trusted_cells_and_syntax_errors_are_skipped():
    hostile = CodeCell("cell 1", "import gc\n")
    assert tampering([hostile], trusted=frozenset({"import gc"})) == []
    assert tampering([hostile, CodeCell("cell 2", "import gc\ndef broken(:\n")]) == [
        Finding("cell 1", 1, "import gc", "walks the interpreter's objects (`gc`)")]


def test_long_lines_are_cut_to_80_characters():
    [finding] = one("torch.cat = " + " + ".join(["slow_cat"] * 20))
    assert len(finding.code) == 80 and finding.code.endswith("...")


def test_one_finding_per_line_and_reason():
    findings = one("y = torch._C._nn._foo(torch._C._bar(x))")
    assert [f.what for f in findings] == ["uses torch's private API (`torch._C`)"]


# -- references to torch built-ins ---------------------------------------------------------------------------
def no_helpers(name: str) -> str | None:
    return None


SOFTMAXES = {"softmax", "log_softmax", "_softmax", "cross_entropy", "nll_loss", "logsumexp"}


@pytest.mark.parametrize("source, names, expected", [
    ("def softmax(x, dim=-1):\n    return torch.softmax(x, dim)", {"softmax"},
     [("softmax", 2, "return torch.softmax(x, dim)")]),
    ("def f(x):\n    y = x * 2\n    return y.softmax(1)", {"softmax"}, [("f", 3, "return y.softmax(1)")]),
    ("def f(x):\n    return nn.Softmax(dim=1)(x)", {"Softmax"}, [("f", 2, "return nn.Softmax(dim=1)(x)")]),
    ("def f(x):\n    return torch.special.logsumexp(x, 1)", {"logsumexp"},
     [("f", 2, "return torch.special.logsumexp(x, 1)")]),
    ("def f(x):\n    return torch.special_logsumexp(x, 1)", {"logsumexp"},
     [("f", 2, "return torch.special_logsumexp(x, 1)")]),
    ("def f(x):\n    return torch.nn.functional.Softmax(x)", {"softmax"}, []),  # case-sensitive
    ("def f(x):\n    from torch.nn.functional import softmax as s\n    return s(x, 1)", {"softmax"},
     [("f", 3, "return s(x, 1)")]),
    ("def f(x, softmax):\n    return softmax(x)", {"softmax"}, []),  # an argument, not the built-in
    ("def f(x):\n    return x.exp() / x.exp().sum()", SOFTMAXES, []),
])
def test_attribute_calls(source, names, expected):
    assert attribute_calls(source, no_helpers, names, imports={"softmax": "torch.softmax"}) == expected


def test_names_imported_from_torch_at_the_top_level_are_references():
    cells = [CodeCell("cell 1", "from torch.nn.functional import softmax as s\nimport torch\n"),
             CodeCell("cell 2", "def f(x):\n    return s(x, dim=1)\n")]
    assert attribute_calls_in(cells, "f", {"softmax"}) == [("f", 2, "return s(x, dim=1)")]
    assert attribute_calls_in(cells, "missing", {"softmax"}) == []


def test_the_students_own_functions_are_followed_not_reported():
    helper = "import torch\n\n\ndef log_softmax(x, dim=-1):\n    return torch.log_softmax(x, dim)\n"
    cells = [CodeCell("cell 1", helper),
             CodeCell("cell 2", "def cross_entropy(x, t):\n    lp = log_softmax(x, dim=1)\n    return -lp.mean()\n")]
    assert attribute_calls_in(cells, "cross_entropy", SOFTMAXES) == [
        ("log_softmax", 2, "return torch.log_softmax(x, dim)")]

    def lookup(name: str) -> str | None:
        return definition_source(cells, name)

    source = definition_source(cells, "cross_entropy")
    assert source is not None
    assert attribute_calls(source, lookup, SOFTMAXES, max_depth=0) == []


def test_recursion_through_helpers_ends():
    cells = [CodeCell("cell 1", "def a(x):\n    return b(x)\n\n\ndef b(x):\n    return a(x.softmax(0))\n")]
    assert attribute_calls_in(cells, "a", {"softmax"}) == [("b", 2, "return a(x.softmax(0))")]


@pytest.mark.parametrize("function", ["softmax", "log_softmax", "softmax_cross_entropy", "cross_entropy"])
def test_reference_solutions_use_no_forbidden_builtin(function):
    cells = read_code(ROOT / "solutions" / "lesson7" / "lesson7.ipynb")
    assert definition_source(cells, function) is not None
    assert attribute_calls_in(cells, function, SOFTMAXES) == []


@pytest.mark.parametrize("function, code", [
    ("softmax", "return torch.softmax(logits, dim=dim)"),
    ("log_softmax", "return logits.log_softmax(dim)"),
    ("softmax_cross_entropy", "return -(labels * F.log_softmax(logits, dim=dim)).sum(dim=dim)"),
    ("cross_entropy", "return torch.nn.CrossEntropyLoss()(logits, targets)"),
])
def test_a_submission_using_the_builtins_is_found(function, code):
    cells = read_code(ROOT / "tests" / "submissions" / "lesson7" / "uses_builtins.py")
    assert attribute_calls_in(cells, function, SOFTMAXES | {"CrossEntropyLoss"}) == [(function, 2, code)]
