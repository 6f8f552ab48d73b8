"""Static reading of a submission's source with `ast`, in the grader's own process (never executed).

- `tampering(cells)` flags code that inspects or patches the interpreter, torch or the grader instead of
  computing an answer: code built from text (exec, eval, __import__...), imports of the grader and of
  introspection or process-control modules, torch's private API and dispatch overrides, frame and code
  object access, and assignments into imported modules (monkeypatching).
- `attribute_calls(source, lookup, names)` lists a student function's references to torch built-ins by
  name (`torch.softmax`, `x.softmax`, `nn.Softmax`, a name imported from torch), following the top-level
  helpers it calls, for the checks that forbid a built-in.
"""

from __future__ import annotations

import ast
import dataclasses
import fnmatch
from collections.abc import Callable, Iterable, Mapping

from grader.engine.submission import CodeCell

# Names every notebook may use without importing them here: the course's own cells import these.
_DEFAULT_ALIASES = {"torch": "torch", "F": "torch.nn.functional", "nn": "torch.nn", "np": "numpy",
                    "numpy": "numpy", "sys": "sys", "os": "os", "builtins": "builtins"}
_FORBIDDEN_MODULES = {
    "grader": "reaches into the grader", "importlib": "imports modules by computed name",
    "gc": "walks the interpreter's objects", "inspect": "inspects the interpreter's frames",
    "ctypes": "calls C code directly", "_ctypes": "calls C code directly",
    "builtins": "reaches into Python's built-ins", "signal": "handles or sends signals",
    "multiprocessing": "starts processes", "subprocess": "starts processes", "_posixsubprocess": "starts processes",
    "pty": "starts processes", "posix": "controls processes through the OS", "socket": "opens network sockets",
    "marshal": "builds code objects", "copyreg": "changes how objects are pickled",
    "runpy": "runs code built from text", "code": "runs code built from text", "pdb": "opens the debugger",
}
_STARTS = "starts processes"
_SIGNALS = "sends signals to processes"
_GROUP = "leaves the grader's process group"
_NAME_RULES: tuple[tuple[str, str], ...] = (  # glob over a dotted name or any of its prefixes -> reason
    ("sys._*", "reads the interpreter's frames"), ("sys.modules", "reaches into loaded modules"),
    ("sys.settrace", "traces the interpreter"), ("sys.setprofile", "traces the interpreter"),
    ("sys.meta_path", "hooks imports"), ("sys.path_hooks", "hooks imports"),
    ("sys.path_importer_cache", "hooks imports"), ("sys.addaudithook", "hooks the interpreter"),
    ("os.kill", _SIGNALS), ("os.killpg", _SIGNALS), ("os.fork", _STARTS), ("os.forkpty", _STARTS),
    ("os.system", _STARTS), ("os.popen", _STARTS), ("os.exec*", _STARTS), ("os.spawn*", _STARTS),
    ("os.posix_spawn*", _STARTS), ("os.register_at_fork", _STARTS), ("os.setsid", _GROUP),
    ("os.setpgid", _GROUP), ("os.setpgrp", _GROUP), ("os.unshare", _GROUP),
    ("asyncio.create_subprocess_*", _STARTS), ("concurrent.futures.ProcessPoolExecutor", _STARTS),
    ("torch.ops", "calls torch operators behind the grader's op recorder"),
    ("torch.library", "registers torch operators"), ("torch.overrides", "overrides torch functions"),
)
_HIDES = "hides torch calls from the grader's op recorder"
_INTROSPECTS = "introspects the interpreter"
_SPECIAL = {  # identifiers (attributes, names, definitions, imported names) -> reason
    "__torch_function__": _HIDES, "__torch_dispatch__": _HIDES, "TorchFunctionMode": _HIDES,
    "TorchDispatchMode": _HIDES, "BaseTorchFunctionMode": _HIDES,
    "__builtins__": "reaches into Python's built-ins", "__reduce__": "changes how objects are pickled",
    "__reduce_ex__": "changes how objects are pickled",
    **{name: _INTROSPECTS for name in (
        "__code__", "__globals__", "__subclasses__", "__closure__", "__bases__", "__mro__", "__defaults__",
        "__kwdefaults__", "__self__", "f_back", "f_globals", "f_locals", "f_code", "gi_frame", "cr_frame",
        "ag_frame", "tb_frame")},
}
_CODE_BUILDERS = {"exec": "runs code built from text", "eval": "runs code built from text",
                  "compile": "runs code built from text", "__import__": "imports a module by computed name",
                  "breakpoint": "opens the debugger", "globals": "reads the interpreter's global names"}
_ATTRIBUTE_FUNCTIONS = {"getattr": "get", "hasattr": "get", "setattr": "set", "delattr": "set",
                        "__getattribute__": "get", "__getattr__": "get", "__setattr__": "set", "__delattr__": "set"}
_TIMERS = {"timeit.timeit", "timeit.repeat", "timeit.Timer", "torch.utils.benchmark.Timer"}
_STAR_IMPORT_FORBIDDEN = {"os", "sys", "posix"}


@dataclasses.dataclass(frozen=True)
class Finding:
    cell: str  # CodeCell.label
    line: int  # 1-based, within the cell
    code: str  # the offending source line, stripped, at most 80 characters
    what: str  # short student-facing reason

    def describe(self) -> str:
        return f"{self.cell}, line {self.line}: `{self.code}` {self.what}"


def tampering(cells: list[CodeCell], *, trusted: frozenset[str] = frozenset()) -> list[Finding]:
    """Code that inspects or patches the interpreter, torch or the grader, in reading order.

    Cells whose stripped source is in `trusted` (the course's own, unchanged cells) and cells with a syntax
    error (they never run) are skipped. Names imported in any cell count in every cell: cells share a module.
    """
    trees = [(cell, _parse(cell.source)) for cell in cells]
    aliases = {**_DEFAULT_ALIASES, **imported_names(cell.source for cell, tree in trees if tree)}
    findings: list[Finding] = []
    for cell, tree in trees:
        if tree is None or cell.source.strip() in trusted:
            continue
        lines = cell.source.splitlines()
        seen: set[tuple[int, str]] = set()
        for line, what in sorted(_scan(tree, aliases), key=lambda hit: hit[0]):
            if (line, what) not in seen:
                seen.add((line, what))
                findings.append(Finding(cell.label, line, _code_line(lines, line), what))
    return findings


def imported_names(sources: Iterable[str]) -> dict[str, str]:
    """Each name bound by an import anywhere in `sources` -> the dotted name it stands for."""
    aliases: dict[str, str] = {}
    for source in sources:
        tree = _parse(source)
        for node in ast.walk(tree) if tree else ():
            if isinstance(node, ast.Import):
                for alias in node.names:
                    root = alias.name.split(".")[0]
                    aliases[alias.asname or root] = alias.name if alias.asname else root
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    if alias.name != "*":
                        aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return aliases


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def _code_line(lines: list[str], line: int) -> str:
    code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return code if len(code) <= 80 else code[:77] + "..."


def _qualified(node: ast.AST, aliases: Mapping[str, str]) -> str | None:
    """The dotted name an expression stands for when it is reached from an import (`F.softmax`)."""
    if isinstance(node, ast.Name):
        return aliases.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _qualified(node.value, aliases)
        return f"{base}.{node.attr}" if base else None
    if isinstance(node, ast.Subscript) and _qualified(node.value, aliases) == "sys.modules":
        key = node.slice
        return key.value if isinstance(key, ast.Constant) and isinstance(key.value, str) else None
    return None


def _name_rule(qualified: str) -> str | None:
    """Why a dotted name is off limits (the shortest offending prefix in backticks), or None."""
    parts = qualified.split(".")
    for end in range(2, len(parts) + 1):
        prefix, last = ".".join(parts[:end]), parts[end - 1]
        if parts[0] == "torch" and last.startswith("_") and not (last.startswith("__") and last.endswith("__")):
            return f"uses torch's private API (`{prefix}`)"
        for pattern, reason in _NAME_RULES:
            if fnmatch.fnmatchcase(prefix, pattern):
                return f"{reason} (`{prefix}`)"
    return None


def _special(identifier: str) -> str | None:
    reason = _SPECIAL.get(identifier)
    return f"{reason} (`{identifier}`)" if reason else None


def _scan(tree: ast.Module, aliases: Mapping[str, str]) -> list[tuple[int, str]]:
    """(line, reason) for each offending node of one cell."""
    hits: list[tuple[int, str]] = []
    # `Timer("f(x)", globals=globals())` is how timing code is written: the statement is scanned instead
    idiom = {id(k.value) for n in ast.walk(tree) if isinstance(n, ast.Call) for k in n.keywords if k.arg == "globals"}
    for node in ast.walk(tree):
        if id(node) not in idiom:
            hits += [(node.lineno, what) for what in _node_reasons(node, aliases) if what]
    return hits


def _node_reasons(node: ast.AST, aliases: Mapping[str, str]) -> list[str | None]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return _import_reasons(node)
    if isinstance(node, ast.Name):
        return [_special(node.id), _name_rule(aliases[node.id]) if node.id in aliases else None]
    if isinstance(node, ast.Attribute):
        qualified = _qualified(node, aliases)
        reasons = [_special(node.attr), _name_rule(qualified) if qualified else None]
        if node.attr == "__dict__" and _qualified(node.value, aliases):
            reasons.append(f"reaches into the namespace of `{_qualified(node.value, aliases)}`")
        return reasons
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [_special(node.name)]
    if isinstance(node, ast.Call):
        return _call_reasons(node, aliases)
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
        targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
        return [_patch(t, aliases) for target in targets for t in _flat_targets(target)]
    return []


def _import_reasons(node: ast.Import | ast.ImportFrom) -> list[str | None]:
    if isinstance(node, ast.Import):
        modules, names = [alias.name for alias in node.names], []
    elif node.module and not node.level:
        modules = [node.module]
        names = [f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*"]
    else:
        return []
    reasons: list[str | None] = []
    for module in modules:
        root = module.split(".")[0]
        if root in _FORBIDDEN_MODULES:
            reasons.append(f"{_FORBIDDEN_MODULES[root]} (`{module}`)")
        reasons.append(_name_rule(module))
    if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names) and \
            node.module in _STAR_IMPORT_FORBIDDEN:
        reasons.append(f"imports everything from `{node.module}`, process control included")
    reasons += [what for name in names for what in (_name_rule(name), _special(name.rsplit(".", 1)[1]))]
    return reasons


def _builtin_called(func: ast.expr, aliases: Mapping[str, str]) -> str | None:
    """The built-in function a call's `func` names (`exec`, `builtins.exec`), or None."""
    if isinstance(func, ast.Name):
        qualified = aliases.get(func.id)
        return func.id if qualified is None else qualified.removeprefix("builtins.")
    qualified = _qualified(func, aliases)
    return qualified.removeprefix("builtins.") if qualified and qualified.startswith("builtins.") else None


def _call_reasons(node: ast.Call, aliases: Mapping[str, str]) -> list[str | None]:
    if _qualified(node.func, aliases) in _TIMERS:
        return _timed_code(node, aliases)
    called = _builtin_called(node.func, aliases)
    if called in _CODE_BUILDERS:
        return [f"{_CODE_BUILDERS[called]} (`{called}`)"]
    if called == "vars" and node.args and _qualified(node.args[0], aliases):
        return [f"reaches into the namespace of `{_qualified(node.args[0], aliases)}`"]
    args = list(node.args)
    if isinstance(node.func, ast.Attribute) and node.func.attr.startswith("__") and \
            node.func.attr in _ATTRIBUTE_FUNCTIONS:  # object.__setattr__(torch, ...) or torch.__setattr__(...)
        called = node.func.attr
        if _qualified(node.func.value, aliases):
            args.insert(0, node.func.value)
    if called not in _ATTRIBUTE_FUNCTIONS or len(args) < 2:
        return []
    owner, attribute = _qualified(args[0], aliases), args[1]
    constant = attribute.value if isinstance(attribute, ast.Constant) and isinstance(attribute.value, str) else None
    reasons = [_special(constant) if constant else None]
    if owner and _ATTRIBUTE_FUNCTIONS[called] == "set":
        reasons.append(_patched(owner, f"{called}({owner}, ...)"))
    elif owner and constant is None:
        reasons.append(f"looks up an attribute by computed name (`{called}({owner}, ...)`)")
    elif owner and constant:
        reasons.append(_name_rule(f"{owner}.{constant}"))
    return reasons


def _timed_code(node: ast.Call, aliases: Mapping[str, str]) -> list[str | None]:
    """A timer runs its `stmt` and `setup` strings as code: scan them as if they were written here."""
    reasons: list[str | None] = []
    for code in node.args[:2] + [k.value for k in node.keywords if k.arg in ("stmt", "setup")]:
        if isinstance(code, ast.Constant) and isinstance(code.value, str):
            tree = _parse(code.value)
            reasons += [what for _, what in _scan(tree, aliases)] if tree else []
        elif isinstance(code, (ast.BinOp, ast.JoinedStr, ast.Call)):
            reasons.append(f"{_CODE_BUILDERS['exec']} (`{_qualified(node.func, aliases)}`)")
    return reasons


def _flat_targets(target: ast.expr) -> list[ast.expr]:
    if isinstance(target, (ast.Tuple, ast.List)):
        return [t for element in target.elts for t in _flat_targets(element)]
    return [target.value] if isinstance(target, ast.Starred) else [target]


def _patch(target: ast.expr, aliases: Mapping[str, str]) -> str | None:
    """Why an assignment (or `del`) target patches an imported module, or None."""
    if isinstance(target, ast.Attribute):
        owner = _qualified(target.value, aliases)
        return _patched(owner, f"{owner}.{target.attr}") if owner else None
    if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Attribute) and \
            target.value.attr == "__dict__":
        owner = _qualified(target.value.value, aliases)
        return _patched(owner, f"{owner}.__dict__[...]") if owner else None
    return None


def _patched(owner: str, shown: str) -> str:
    root = owner.split(".")[0]
    return f"replaces a built-in (`{shown}`)" if root == "builtins" else f"monkeypatches {root} (`{shown}`)"


# -- references to torch built-ins (judge side) ---------------------------------------------------------------
def definition_source(cells: list[CodeCell], name: str) -> str | None:
    """The source of the last top-level def or class `name` in the cells (as grader.engine.runners has it)."""
    found = None
    for cell in cells:
        tree = _parse(cell.source)
        for node in tree.body if tree else ():
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
                found = ast.get_source_segment(cell.source, node)
    return found


def attribute_calls(source: str, lookup: Callable[[str], str | None], names: set[str], *,
                    imports: Mapping[str, str] | None = None, max_depth: int = 3) -> list[tuple[str, int, str]]:
    """(function name, line within that function, code line) for each reference to a torch built-in in `names`.

    A reference is an attribute whose name is in `names`, as is or without a `special_` prefix (`x.softmax`,
    `F.log_softmax`, `torch.special.logsumexp`, `nn.Softmax`), or a plain name imported from a torch module
    (`from torch.nn.functional import softmax as s`, then `s(x)`); `imports` maps the submission's top-level
    import names to what they stand for (see `imported_names`), and imports inside the functions read count too.
    A plain name the student defined (`lookup(name)` is not None) is their own helper, not a reference: it is
    read in turn, up to `max_depth` calls deep.
    """
    found: list[tuple[str, int, str]] = []
    _read_references(source, lookup, names, dict(imports or {}), found, set(), max_depth)
    return found


def attribute_calls_in(cells: list[CodeCell], function: str, names: set[str]) -> list[tuple[str, int, str]]:
    """`attribute_calls` for the submission's top-level `function`, its helpers and imports taken from `cells`."""
    source = definition_source(cells, function)
    if source is None:
        return []
    imports = imported_names(cell.source for cell in cells)
    return attribute_calls(source, lambda name: definition_source(cells, name), names, imports=imports)


def _matches(name: str, names: set[str]) -> bool:
    return name in names or name.removeprefix("special_") in names


def _read_references(source: str, lookup: Callable[[str], str | None], names: set[str], imports: dict[str, str],
                     found: list[tuple[str, int, str]], seen: set[str], depth: int) -> None:
    tree = _parse(source)
    top = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))),
               None) if tree else None
    if top is None:
        return
    seen.add(top.name)
    lines = source.splitlines()
    local_imports = {**imports, **imported_names([source])}
    bound = _bound_names(top)
    for node in ast.walk(top):
        if isinstance(node, ast.Attribute) and _matches(node.attr, names):
            found.append((top.name, node.lineno - top.lineno + 1, _code_line(lines, node.lineno)))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in bound:
            helper = lookup(node.id)
            if helper is not None:
                if node.id not in seen and depth > 0:
                    _read_references(helper, lookup, names, imports, found, seen, depth - 1)
                continue
            qualified = local_imports.get(node.id, "")
            if qualified.split(".")[0] == "torch" and _matches(qualified.rsplit(".", 1)[-1], names):
                found.append((top.name, node.lineno - top.lineno + 1, _code_line(lines, node.lineno)))


def _bound_names(top: ast.AST) -> set[str]:
    """Names a function binds itself (arguments, assignments, nested defs): they shadow imports and helpers."""
    bound: set[str] = set()
    for node in ast.walk(top):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not top:
            bound.add(node.name)
    return bound
