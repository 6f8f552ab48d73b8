"""grader.engine.sandbox: each test forks a child, seals it and reports what the child could and could not do."""

from __future__ import annotations

import errno
import importlib.util
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

import grader
from grader.engine import sandbox

ABI = sandbox.landlock_abi()
needs_landlock = pytest.mark.skipif(ABI == 0, reason="this kernel/platform has no Landlock (landlock_abi() == 0)")
PACKAGE = Path(grader.__file__).resolve().parent
REPO = PACKAGE.parent


def attempt(fn) -> str:
    """'ok' or the name of the exception that fn raised."""
    try:
        fn()
        return "ok"
    except Exception as e:  # noqa: BLE001 - the exception's type is the result
        return type(e).__name__


def read(path) -> None:
    with open(path, "rb") as f:
        f.read(1)


def write(path, data: bytes = b"x") -> None:
    with open(path, "wb") as f:
        f.write(data)


def sealed_child(probe, *, read_paths, write_paths, before=None, **limits) -> dict:
    """Fork; the child runs before(), seals itself, runs probe() and sends back {"layers", "missing", "value"}."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 1
        try:
            os.close(r)
            if before is not None:
                before()
            sealed = sandbox.seal(read=[str(p) for p in read_paths], write=[str(p) for p in write_paths], **limits)
            out = {"layers": sealed.layers, "missing": sealed.missing, "value": probe()}
            code = 0
        except BaseException as e:  # noqa: BLE001
            out = {"error": repr(e)}
        finally:
            try:
                os.write(w, json.dumps(out).encode())
            finally:
                os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    result = json.loads(data)
    assert "error" not in result, result
    return result


@pytest.fixture
def dirs(tmp_path):
    allowed, scratch, secret = tmp_path / "allowed", tmp_path / "scratch", tmp_path / "secret"
    for d in (allowed, scratch, secret):
        d.mkdir()
    (allowed / "ok.txt").write_text("fine")
    (secret / "answer.txt").write_text("42")
    return allowed, scratch, secret


def roots():
    return sandbox.readable_roots(package_dir=str(PACKAGE), child_subpackages=("probes",))


@needs_landlock
def test_files_are_confined(dirs):
    allowed, scratch, secret = dirs

    def probe():
        return {
            "read allowed": attempt(lambda: read(allowed / "ok.txt")),
            "list allowed": attempt(lambda: os.listdir(allowed)),
            "read secret": attempt(lambda: read(secret / "answer.txt")),
            "list secret": attempt(lambda: os.listdir(secret)),
            "read hostname": attempt(lambda: read("/etc/hostname")),
            "write scratch": attempt(lambda: write(scratch / "out.txt")),
            "mkdir scratch": attempt(lambda: os.mkdir(scratch / "sub")),
            "write allowed": attempt(lambda: write(allowed / "ok.txt")),
            "write secret": attempt(lambda: write(secret / "new.txt")),
            "write repo": attempt(lambda: write(REPO / "sandbox-probe.tmp")),
            "rename out": attempt(lambda: os.rename(scratch / "out.txt", secret / "out.txt")),
            "dev null": attempt(lambda: write("/dev/null")),
        }

    leak = REPO / "sandbox-probe.tmp"
    try:
        result = sealed_child(probe, read_paths=[*roots(), allowed], write_paths=[scratch])
    finally:
        leaked = leak.exists()
        leak.unlink(missing_ok=True)
    assert not leaked and not (secret / "new.txt").exists()
    assert {"landlock-fs", "rlimits"} <= set(result["layers"])
    denied = "PermissionError"
    assert result["value"] == {
        "read allowed": "ok", "list allowed": "ok", "read secret": denied, "list secret": denied,
        "read hostname": denied if os.path.exists("/etc/hostname") else "FileNotFoundError",
        "write scratch": "ok", "mkdir scratch": "ok", "write allowed": denied, "write secret": denied,
        "write repo": denied, "rename out": denied, "dev null": "ok"}
    assert sandbox.describe(sandbox.Sealed(tuple(result["layers"]), tuple(result["missing"]))).startswith("sealed:")


@needs_landlock
def test_grader_secrets_are_hidden(dirs):
    _, scratch, _ = dirs
    lesson = PACKAGE / "lessons" / "lesson3.py"
    lesson = lesson if lesson.exists() else sorted((PACKAGE / "lessons").glob("*.py"))[0]

    def probe():
        return [attempt(lambda: read(PACKAGE / "__init__.py")),
                attempt(lambda: read(PACKAGE / "probes" / "__init__.py")), attempt(lambda: read(lesson)),
                attempt(lambda: os.listdir(PACKAGE)),
                attempt(lambda: os.listdir(REPO / "solutions")), attempt(lambda: os.listdir(REPO))]

    result = sealed_child(probe, read_paths=roots(), write_paths=[scratch])
    assert result["value"] == ["ok", "ok"] + ["PermissionError"] * 4


@needs_landlock
def test_imports_still_work(dirs):
    _, scratch, _ = dirs
    stdlib = [m for m in ("xml.dom.minidom", "sqlite3", "wave", "decimal") if m not in sys.modules]
    third = [m for m in ("jinja2", "markupsafe", "pygments", "click", "bs4")
             if m not in sys.modules and importlib.util.find_spec(m) is not None]
    if not stdlib or not third:
        pytest.skip("every candidate module is already imported in this process")

    def probe():
        return {m: attempt(lambda m=m: importlib.import_module(m)) for m in stdlib[:2] + third[:2]}

    result = sealed_child(probe, read_paths=roots(), write_paths=[scratch])
    assert set(result["value"].values()) == {"ok"}, result["value"]


@needs_landlock
def test_fresh_interpreter_imports_numpy_after_sealing(tmp_path):
    """A child that has not imported numpy before sealing can still load it (C extensions, shared libraries)."""
    code = textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(REPO)!r})
        from grader.engine import sandbox
        roots = sandbox.readable_roots(package_dir={str(PACKAGE)!r}, child_subpackages=())
        sealed = sandbox.seal(read=roots, write=[{str(tmp_path)!r}])
        import numpy
        print(json.dumps([sealed.layers, float(numpy.arange(4).sum())]))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    layers, total = json.loads(out.stdout)
    assert "landlock-fs" in layers and total == 6.0


@pytest.mark.skipif(ABI < 4, reason="Landlock network rules need ABI 4")
def test_no_tcp(dirs):
    _, scratch, _ = dirs
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]

        def probe():
            with socket.socket() as s:
                connect = attempt(lambda: s.connect(("127.0.0.1", port)))
            with socket.socket() as s:
                bind = attempt(lambda: s.bind(("127.0.0.1", 0)))
            return [connect, bind]

        result = sealed_child(probe, read_paths=roots(), write_paths=[scratch])
    assert "landlock-net" in result["layers"]
    assert result["value"] == ["PermissionError", "PermissionError"]


@pytest.mark.skipif(ABI < 6, reason="Landlock signal scoping needs ABI 6")
def test_cannot_signal_the_parent(dirs):
    _, scratch, _ = dirs
    parent = os.getpid()

    def probe():
        return [attempt(lambda: os.kill(parent, 0)), attempt(lambda: os.kill(os.getpid(), 0))]

    result = sealed_child(probe, read_paths=roots(), write_paths=[scratch])
    assert "landlock-signals" in result["layers"]
    assert result["value"] == ["PermissionError", "ok"]


def test_rlimits(dirs):
    _, scratch, _ = dirs

    def probe():
        try:
            write(scratch / "big.bin", b"\0" * (3 << 20))
            big = "ok"
        except OSError as e:
            big = errno.errorcode[e.errno]
        return {"big write": big, "small write": attempt(lambda: write(scratch / "small.bin", b"\0" * 1000)),
                "core": resource.getrlimit(resource.RLIMIT_CORE)[1],
                "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[1],
                "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[1]}

    result = sealed_child(probe, read_paths=roots(), write_paths=[scratch], max_file_mb=1, max_open_files=64)
    value = result["value"]
    assert "rlimits" in result["layers"]
    assert value["big write"] == "EFBIG" and value["small write"] == "ok"
    assert value["core"] == 0 and value["nofile"] <= 64 + 1024  # 64 on top of what was already open
    if os.geteuid() == 0:
        assert "process limit: not enforced for root (the pid namespace bounds it)" in result["missing"]
    else:
        assert 64 < value["nproc"] < 1 << 20


@needs_landlock
@pytest.mark.skipif(os.geteuid() != 0, reason="only root can switch to an unprivileged user")
def test_unprivileged_child():
    """As a plain user (no capabilities): Landlock still applies and the process limit is set."""
    with tempfile.TemporaryDirectory() as top:  # world-readable, unlike pytest's tmp_path
        allowed, secret = Path(top, "allowed"), Path(top, "secret")
        for d in (allowed, secret):
            d.mkdir()
            (d / "f.txt").write_text("x")
        for p in (top, allowed, secret):
            os.chmod(p, 0o755)

        def drop():
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)

        def probe():
            return [resource.getrlimit(resource.RLIMIT_NPROC)[0], attempt(lambda: read(allowed / "f.txt")),
                    attempt(lambda: read(secret / "f.txt"))]

        result = sealed_child(probe, read_paths=[*roots(), allowed], write_paths=[], before=drop, max_processes=8)
    nproc, ok, denied = result["value"]
    assert "landlock-fs" in result["layers"] and not any("process limit" in m for m in result["missing"])
    assert 8 <= nproc < 100_000 and ok == "ok" and denied == "PermissionError"


def covers(granted: list[str], path: Path) -> bool:
    path = os.path.realpath(path)
    return any(path == g or path.startswith(g.rstrip("/") + "/") for g in granted)


def fake_layout(tmp_path: Path) -> dict[str, Path]:
    repo = tmp_path / "repo"
    site = repo / ".venv" / "lib" / "python3.11" / "site-packages"
    files = {"init": repo / "grader" / "__init__.py", "probe": repo / "grader" / "probes" / "x.py",
             "lesson": repo / "grader" / "lessons" / "secret.py", "solution": repo / "solutions" / "s.txt",
             "pyc": repo / "grader" / "__pycache__" / "lessons.cpython-311.pyc",
             "numpy": site / "numpy" / "__init__.py",
             "pyproject": repo / "pyproject.toml", "wire": repo / "grader" / "wire.py"}
    for f in files.values():
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("")
    (site / "sneaky").symlink_to(repo)  # a link back into the repository must not grant it
    return {"repo": repo, "site": site, **files}


@pytest.mark.parametrize("on_path", ["editable", "repo-on-path"])
def test_readable_roots_editable_layout(tmp_path, monkeypatch, on_path):
    paths = fake_layout(tmp_path)
    repo, site = paths["repo"], paths["site"]
    monkeypatch.setattr(sys, "path", [str(site)] + ([str(repo), ""] if on_path == "repo-on-path" else []))
    for name in ("prefix", "exec_prefix"):
        monkeypatch.setattr(sys, name, str(repo / ".venv"))
    granted = sandbox.readable_roots(package_dir=str(repo / "grader"), child_subpackages=("probes", "wire.py"))
    assert all(covers(granted, paths[k]) for k in ("init", "probe", "numpy", "wire")), granted
    assert not any(covers(granted, paths[k]) for k in ("lesson", "solution", "pyc", "pyproject")), granted
    assert str(repo.resolve()) not in granted and covers(granted, Path("/usr/lib"))
    assert len(granted) == len(set(granted))


def test_readable_roots_installed_layout(tmp_path, monkeypatch):
    """Installed into site-packages (not a repository): the neighbours stay readable, the package does not."""
    site = tmp_path / "site-packages"
    for f in ("grader/__init__.py", "grader/lessons/lesson3.py", "grader/probes/ops.py", "numpy/__init__.py", "six.py"):
        (site / f).parent.mkdir(parents=True, exist_ok=True)
        (site / f).write_text("")
    monkeypatch.setattr(sys, "path", [str(site)])
    granted = sandbox.readable_roots(package_dir=str(site / "grader"), child_subpackages=("probes",))
    assert str(site.resolve()) not in granted
    for f in ("grader/__init__.py", "grader/probes/ops.py", "numpy/__init__.py", "six.py"):
        assert covers(granted, site / f), f
    assert not covers(granted, site / "grader" / "lessons" / "lesson3.py")


def test_degrades_without_landlock(dirs):
    """A kernel without Landlock: seal() still applies the rlimits and says plainly that files are not sealed."""
    allowed, scratch, _ = dirs

    def no_landlock():
        sandbox._probe_landlock = lambda: (0, "kernel has no Landlock (ENOSYS)")

    result = sealed_child(lambda: attempt(lambda: read(allowed / "ok.txt")), read_paths=[], write_paths=[scratch],
                          before=no_landlock)
    sealed = sandbox.Sealed(tuple(result["layers"]), tuple(result["missing"]))
    assert sealed.layers == ("rlimits",) and sealed.missing[0] == "landlock: kernel has no Landlock (ENOSYS)"
    assert sandbox.describe(sealed).startswith("NOT SEALED: landlock: kernel has no Landlock (ENOSYS)")
    assert result["value"] == "ok"


def test_describe():
    assert sandbox.describe(sandbox.Sealed(("landlock-fs", "landlock-net", "rlimits"), ())).startswith("sealed: ")
    text = sandbox.describe(sandbox.Sealed(("rlimits",), ("landlock: kernel has no Landlock (ENOSYS)",)))
    assert text.startswith("NOT SEALED") and "ENOSYS" in text
