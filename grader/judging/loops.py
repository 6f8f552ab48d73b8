"""Static reading of a student's function: Python loops that run once per example (judge side).

`batch_loops(source, lookup)` parses a function with `ast` and returns the loops whose trip count is the
batch size: `for` loops and comprehensions over a tensor argument (iterating a tensor walks its dim 0),
over `range(x.shape[0])`, `range(len(x))`, `range(x.numel())`, `x.unbind()`, `zip(x, y)`..., `while` loops
whose condition involves such a count, and `map`/`filter` over them. Helper functions defined at the top
level of the submission are read too, with their arguments' kinds.

Loops over dims (`for _ in range(x.dim() - 2)`, `for size in x.shape[2:]`) are not reported: the reading
tracks what each name holds, and only a batch-sized count or the tensors themselves make a batch loop.
Anything it cannot classify counts as "not a batch loop"; dynamic checks (op counts, speed) catch the rest.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
from collections.abc import Callable

TENSOR = "tensor"  # a tensor whose dim 0 is the batch: iterating it walks the batch
SHAPE = "shape"  # a shape that still starts with the batch size
TAIL = "tail"  # a shape without the batch size (x.shape[1:], x.shape[2:])
COUNT = "count"  # a number that grows with the batch (x.shape[0], len(x), x.numel(), B * N)
DIMS = "dims"  # a number of dims or a non-batch size (x.dim(), x.shape[1])
ROWS = "rows"  # an iterable with one item per example (range(B), x.unbind(), zip(x, y))

_ITERATING_BUILTINS = {"zip", "enumerate", "reversed", "sorted", "iter", "list", "tuple", "map", "filter"}
_NUMERIC_BUILTINS = {"int", "abs", "max", "min", "round", "sum"}
_TENSOR_ROWS_METHODS = {"unbind", "tolist", "split", "chunk", "tensor_split", "__iter__"}
_TENSOR_VALUE_METHODS = {"item", "stride", "storage_offset", "element_size", "data_ptr", "is_contiguous",
                         "get_device", "__int__", "__index__", "__float__", "__bool__", "equal", "type"}
_BUILTINS = set(dir(builtins))
_TENSOR_ATTRS = {"T", "mT", "H", "mH", "data", "real", "imag", "grad"}


@dataclasses.dataclass(frozen=True)
class Loop:
    function: str
    line: int  # 1-based, within the function's own source
    code: str  # the loop's first line

    def describe(self) -> str:
        return f"line {self.line} of {self.function}: `{self.code}`"


def batch_loops(source: str, lookup: Callable[[str], str | None] = lambda name: None, *,
                max_depth: int = 3) -> list[Loop]:
    """Loops over the batch in the function defined by `source` (its arguments are the batch tensors).

    `lookup(name)` returns the source of a top-level function of the submission, or None.
    """
    found: list[Loop] = []
    _read(source, None, lookup, found, seen=set(), depth=max_depth)
    return found


def _read(source: str, arg_kinds: dict[str | int, str | None] | None, lookup: Callable[[str], str | None],
          found: list[Loop], seen: set[str], depth: int) -> None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return
    fn = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    if fn is None:
        return
    seen.add(fn.name)
    params = [a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs]
    if arg_kinds is None:  # the exercise itself: every argument is a batch tensor
        env = {name: TENSOR for name in params}
    else:
        env = {name: arg_kinds.get(i, arg_kinds.get(name)) for i, name in enumerate(params)}
    reader = _Reader(fn.name, source.splitlines(), fn.lineno, env, lookup, found, seen, depth)
    for statement in fn.body:
        reader.visit(statement)


class _Reader(ast.NodeVisitor):
    def __init__(self, function: str, lines: list[str], first_line: int, env: dict[str, str | None],
                 lookup: Callable[[str], str | None], found: list[Loop], seen: set[str], depth: int) -> None:
        self.function, self.lines, self.first_line = function, lines, first_line
        self.env, self.lookup, self.found, self.seen, self.depth = env, lookup, found, seen, depth

    # -- what an expression holds ----------------------------------------------------------------------
    def kind(self, node: ast.AST | None) -> str | None:
        if isinstance(node, ast.Name):
            return self.env.get(node.id)
        if isinstance(node, ast.Attribute):
            return self._attribute(node)
        if isinstance(node, ast.Subscript):
            return self._subscript(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.BinOp):
            kinds = {self.kind(node.left), self.kind(node.right)}
            for k in (COUNT, TENSOR):
                if k in kinds:
                    return k
            return DIMS if kinds <= {DIMS, None} and DIMS in kinds else None
        if isinstance(node, ast.UnaryOp):
            return self.kind(node.operand)
        if isinstance(node, ast.IfExp):
            return self.kind(node.body) or self.kind(node.orelse)
        if isinstance(node, ast.Starred):
            return self.kind(node.value)
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
            return ROWS if any(self.iterates_batch(g.iter) for g in node.generators) else None
        return None

    def _attribute(self, node: ast.Attribute) -> str | None:
        if self.kind(node.value) != TENSOR:
            return None
        if node.attr == "shape":
            return SHAPE
        if node.attr == "ndim":
            return DIMS
        return TENSOR if node.attr in _TENSOR_ATTRS else None

    def _subscript(self, node: ast.Subscript) -> str | None:
        base = self.kind(node.value)
        if base == TENSOR:
            return TENSOR
        if base not in (SHAPE, TAIL):
            return None
        index = node.slice
        if isinstance(index, ast.Slice):
            start = _constant(index.lower)
            return SHAPE if base == SHAPE and start in (None, 0) else TAIL
        position = _constant(index)
        if position is None:
            return None
        return COUNT if base == SHAPE and position == 0 else DIMS

    def _call(self, node: ast.Call) -> str | None:
        func, args = node.func, node.args
        if isinstance(func, ast.Attribute):
            owner = self.kind(func.value)
            if owner == TENSOR:
                return self._tensor_method(func.attr, args)
            if isinstance(func.value, ast.Name) and func.value.id in ("torch", "F", "nn"):
                if func.attr in ("numel",):
                    return COUNT
                if func.attr in _TENSOR_ROWS_METHODS:
                    return ROWS
                return TENSOR if any(self.kind(a) in (TENSOR, COUNT) for a in args) else None
            return None
        if not isinstance(func, ast.Name):
            return None
        kinds = [self.kind(a) for a in args]
        if func.id == "len" and args:
            return {TENSOR: COUNT, ROWS: COUNT, SHAPE: DIMS, TAIL: DIMS}.get(kinds[0])
        if func.id == "range":
            return ROWS if COUNT in kinds else None
        if func.id in _ITERATING_BUILTINS:
            if any(self.iterates_batch(a) for a in args):
                return ROWS
            return kinds[0] if func.id in ("list", "tuple") and kinds and kinds[0] in (SHAPE, TAIL) else None
        if func.id in _NUMERIC_BUILTINS:
            return COUNT if COUNT in kinds else (DIMS if DIMS in kinds else None)
        return None

    def _tensor_method(self, name: str, args: list[ast.expr]) -> str | None:
        if name == "size":
            if not args:
                return SHAPE
            position = _constant(args[0])
            return None if position is None else (COUNT if position == 0 else DIMS)
        if name in ("dim", "ndimension"):
            return DIMS
        if name in ("numel", "nelement", "__len__"):
            return COUNT
        if name in _TENSOR_ROWS_METHODS:
            return ROWS
        if name in _TENSOR_VALUE_METHODS:
            return None
        return TENSOR

    def iterates_batch(self, node: ast.AST) -> bool:
        return self.kind(node) in (TENSOR, ROWS)

    # -- names -----------------------------------------------------------------------------------------
    def bind(self, target: ast.AST, kind: str | None, value: ast.AST | None = None) -> None:
        if isinstance(target, ast.Name):
            self.env[target.id] = kind
        elif isinstance(target, (ast.Tuple, ast.List)):
            elements = target.elts
            if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(elements):
                for t, v in zip(elements, value.elts):
                    self.bind(t, self.kind(v), v)
                return
            for position, element in enumerate(elements):
                if isinstance(element, ast.Starred):
                    self.bind(element.value, SHAPE if kind == SHAPE and position == 0 else
                              (TAIL if kind in (SHAPE, TAIL) else None))
                elif kind == SHAPE:
                    self.bind(element, COUNT if position == 0 else DIMS)
                elif kind == TAIL:
                    self.bind(element, DIMS)
                else:
                    self.bind(element, TENSOR if kind == TENSOR else None)
        elif isinstance(target, ast.Starred):
            self.bind(target.value, kind)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)
        for target in node.targets:
            self.bind(target, self.kind(node.value), node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
            self.bind(node.target, self.kind(node.value), node.value)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.bind(node.target, self.kind(node.value), node.value)

    # -- loops -----------------------------------------------------------------------------------------
    def report(self, node: ast.AST) -> None:
        line = node.lineno - self.first_line + 1
        code = self.lines[node.lineno - 1].strip() if node.lineno - 1 < len(self.lines) else ""
        self.found.append(Loop(self.function, line, code))

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)
        if self.iterates_batch(node.iter):
            self.report(node)
        self.bind(node.target, TENSOR if self.kind(node.iter) == TENSOR else None)
        for statement in node.body + node.orelse:
            self.visit(statement)

    visit_AsyncFor = visit_For

    def visit_While(self, node: ast.While) -> None:
        if any(isinstance(n, ast.expr) and self.kind(n) == COUNT for n in ast.walk(node.test)):
            self.report(node)
        self.generic_visit(node)

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp) -> None:
        for generator in node.generators:
            self.visit(generator.iter)
            if self.iterates_batch(generator.iter):
                self.report(node)
                break
        saved = dict(self.env)
        for generator in node.generators:
            self.bind(generator.target, TENSOR if self.kind(generator.iter) == TENSOR else None)
        for child in [getattr(node, "elt", None), getattr(node, "key", None), getattr(node, "value", None)]:
            if child is not None:
                self.visit(child)
        self.env = saved

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("map", "filter") and \
                any(self.iterates_batch(a) for a in node.args[1:]):
            self.report(node)
        if isinstance(func, ast.Name) and func.id not in self.seen and func.id not in _BUILTINS and self.depth > 0:
            helper = self.lookup(func.id)
            if helper is not None:
                kinds: dict[str | int, str | None] = {i: self.kind(a) for i, a in enumerate(node.args)}
                kinds.update({k.arg: self.kind(k.value) for k in node.keywords if k.arg})
                _read(helper, kinds, self.lookup, self.found, self.seen, self.depth - 1)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        saved = dict(self.env)
        for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs:
            self.env[a.arg] = None  # a closure's own arguments shadow the outer names
        for statement in node.body:
            self.visit(statement)
        self.env = saved

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        saved = dict(self.env)
        for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs:
            self.env[a.arg] = None
        self.visit(node.body)
        self.env = saved


def _constant(node: ast.AST | None) -> int | None:
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
        return -node.operand.value if isinstance(node.operand.value, int) else None
    return None
