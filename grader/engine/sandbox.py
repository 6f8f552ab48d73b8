"""Seal a freshly forked child process before it runs untrusted student code (Linux Landlock + rlimits).

Threat model: a submission is arbitrary Python running as the grader's own user. It must not read the grader's
secret parts (reference solutions, lesson checks and their compiled ``__pycache__``, the repository), write outside
its scratch directory, reach the network over TCP, signal the grader or the forkserver, or exhaust disk, file
descriptors or process slots. Landlock (unprivileged, Linux >= 5.13) restricts the calling thread and its future
children for good, so call ``seal()`` in a single-threaded child right after ``fork()``. Landlock also denies
ptrace and ``/proc/<pid>/mem|environ`` of processes outside the domain. Each layer that the kernel, the platform or
the privileges do not allow is reported in ``Sealed.missing``; nothing here raises for a missing feature.
Not covered: CPU time and memory (the caller's watchdog), UDP and named unix sockets, kernel exploits.
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import os
import stat
import sys

try:
    import resource  # imported here, not in seal(): after fork the child may no longer be able to load it
except ImportError:  # not POSIX
    resource = None
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # the same number on every architecture
_PR_SET_NO_NEW_PRIVS = 38
_RULESET_VERSION = 1  # LANDLOCK_CREATE_RULESET_VERSION
_RULE_PATH_BENEATH = 1

# include/uapi/linux/landlock.h
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_ABI1_FS = (1 << 13) - 1  # EXECUTE .. MAKE_SYM
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15  # ABI 2, 3, 5
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6

_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")  # a directory with one of these is a repository
_RW_DEVICES = ("/dev/null", "/dev/zero", "/dev/nvidia", "/dev/dri")  # GPU drivers open their devices read-write


@dataclasses.dataclass(frozen=True)
class Sealed:
    layers: tuple[str, ...]  # what was applied
    missing: tuple[str, ...]  # what could not be applied, each with a short reason


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def _syscall(nr: int, *args) -> int:
    """Raw syscall; returns the result or raises OSError with the errno."""
    res = _libc().syscall(ctypes.c_long(nr), *(ctypes.c_long(a) if isinstance(a, int) else a for a in args))
    if res < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return res


def _probe_landlock() -> tuple[int, str]:
    """(ABI version, "") or (0, why Landlock is unavailable)."""
    if not sys.platform.startswith("linux"):
        return 0, f"not Linux ({sys.platform})"
    try:
        return _syscall(_CREATE_RULESET, None, 0, _RULESET_VERSION), ""
    except OSError as e:
        known = {errno.ENOSYS: "kernel has no Landlock (ENOSYS)", errno.EOPNOTSUPP: "Landlock disabled (EOPNOTSUPP)"}
        return 0, known.get(e.errno, f"Landlock probe failed ({errno.errorcode.get(e.errno, e.errno)})")


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when unavailable (non-Linux, ENOSYS, EOPNOTSUPP)."""
    return _probe_landlock()[0]


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _plan(candidates: list[str], package_dir: str, child_subpackages: tuple[str, ...]) -> list[str]:
    """Resolve candidates; split every directory containing package_dir; keep only the allowed parts of it."""
    pkg = os.path.realpath(package_dir)
    allowed = [os.path.join(pkg, "__init__.py")] + [os.path.join(pkg, s) for s in child_subpackages]
    todo, seen, keep = [*candidates, pkg], set(), []  # the package's allowed parts are always granted
    while todo:
        path = os.path.realpath(todo.pop())  # symlinks are followed by Landlock too: judge the target
        if path in seen or not os.path.exists(path):
            continue
        seen.add(path)
        if path == pkg:
            todo.extend(allowed)
        elif _inside(pkg, path):  # a directory above the package: grant its entries, never itself
            toward = os.path.join(path, os.path.relpath(pkg, path).split(os.sep)[0])
            todo.append(toward)
            if not any(os.path.lexists(os.path.join(path, m)) for m in _MARKERS):
                try:
                    todo.extend(os.path.join(path, e) for e in os.listdir(path) if os.path.join(path, e) != toward)
                except OSError:
                    pass  # unlistable: grant none of it
        elif not _inside(path, pkg) or any(_inside(path, os.path.realpath(a)) for a in allowed):
            keep.append(path)
    out: list[str] = []  # parents first, then drop whatever is nested in a kept path
    for path in sorted(keep, key=lambda p: (p.count("/"), p)):
        if not any(_inside(path, root) for root in out):
            out.append(path)
    return out


def readable_roots(*, package_dir: str, child_subpackages: tuple[str, ...]) -> list[str]:
    """Paths the child may read: the Python environment and system libraries, but never the grader's secret parts
    or the repository. Only ``package_dir/__init__.py`` and ``package_dir/<sub>`` are readable inside the package;
    a directory containing the package is split into its entries; a repository (it holds pyproject.toml, setup.py,
    setup.cfg or .git) contributes nothing but what is granted on its own (its virtual environment through
    sys.prefix). The current directory ('' on sys.path) is not granted."""
    env = [sys.prefix, sys.base_prefix, sys.exec_prefix]
    env += [p for p in sys.path if p and (os.path.isdir(p) or (os.path.isfile(p) and p.endswith(".zip")))]
    system = ["/usr", "/lib", "/lib64", "/bin", "/etc/ld.so.cache", "/etc/localtime", "/dev/null", "/dev/zero",
              "/dev/urandom", "/dev/random", "/proc", "/sys/devices", "/sys/bus/pci", "/sys/class/net",
              "/sys/fs/cgroup", "/dev/dri"]  # /sys: read-only hardware facts (torch.distributed's gloo lists them)
    if os.path.isdir("/dev"):
        system += [os.path.join("/dev", e) for e in os.listdir("/dev") if e.startswith("nvidia")]
    return _plan([os.path.abspath(p) for p in env] + system, package_dir, child_subpackages)


def _handled_fs(abi: int) -> int:
    return _ABI1_FS | (REFER if abi >= 2 else 0) | (TRUNCATE if abi >= 3 else 0) | (IOCTL_DEV if abi >= 5 else 0)


def _read_rights(path: str, mode: int, handled: int) -> int:
    file_rights = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # the only rights a file rule may carry
    rights = READ_FILE | EXECUTE | (READ_DIR if stat.S_ISDIR(mode) else 0)
    if stat.S_ISCHR(mode) or (stat.S_ISDIR(mode) and path.startswith("/dev/")):
        rights |= IOCTL_DEV
    if path.startswith(_RW_DEVICES):
        rights |= WRITE_FILE | TRUNCATE  # open("/dev/null", "w") truncates
    if not stat.S_ISDIR(mode):
        rights &= file_rights
    return rights & handled


def _landlock(read: list[str], write: list[str], abi: int, layers: list[str], missing: list[str],
              network: bool = False) -> None:
    handled = _handled_fs(abi)
    attr = (ctypes.c_uint64 * 3)(handled, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 and not network else 0,
                                 SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    try:
        ruleset = _syscall(_CREATE_RULESET, ctypes.byref(attr), size, 0)
    except OSError as e:
        missing.append(f"landlock: cannot create a ruleset ({errno.errorcode.get(e.errno, e.errno)})")
        return
    try:
        for path, is_write in [(p, False) for p in read] + [(p, True) for p in write]:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # vanished or unreachable: nothing to grant
            try:
                mode = os.fstat(fd).st_mode
                rights = handled if is_write and stat.S_ISDIR(mode) else _read_rights(path, mode, handled)
                if is_write and not stat.S_ISDIR(mode):
                    rights |= (WRITE_FILE | TRUNCATE) & handled
                rule = _PathBeneath(rights, fd)
                _syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0)
            except OSError as e:
                missing.append(f"landlock: no rule for {path} ({errno.errorcode.get(e.errno, e.errno)})")
            finally:
                os.close(fd)
        _syscall(_RESTRICT_SELF, ruleset, 0)
    except OSError as e:
        missing.append(f"landlock: restrict_self failed ({errno.errorcode.get(e.errno, e.errno)})")
        return
    finally:
        os.close(ruleset)
    layers.append("landlock-fs")
    for layer, needed in (("landlock-net", 4), ("landlock-signals", 6)):
        if layer == "landlock-net" and network:
            continue
        if abi >= needed:
            layers.append(layer)
        else:
            missing.append(f"{layer}: needs Landlock ABI {needed}, the kernel has {abi}")


def _tasks_of_uid(uid: int) -> int:
    """Processes and threads whose real uid is `uid` (what RLIMIT_NPROC counts)."""
    count = 0
    for pid in (e for e in os.listdir("/proc") if e.isdigit()):
        try:
            with open(f"/proc/{pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                count += int(fields["Threads"])
        except (OSError, KeyError, ValueError):
            continue  # exited meanwhile
    return count


def _rlimits(max_file_mb: int, max_open_files: int, max_processes: int | None, missing: list[str]) -> bool:
    if resource is None:
        missing.append("rlimits: no resource module on this platform")
        return False
    try:  # on top of what is already open (the judge's socket, the log, torch's own files)
        already_open = len(os.listdir("/proc/self/fd"))
    except OSError:
        already_open = 64
    limits = [("FSIZE", max_file_mb << 20), ("CORE", 0), ("NOFILE", already_open + max_open_files)]
    if max_processes is not None:
        if os.geteuid() == 0:
            missing.append("process limit: not enforced for root (the pid namespace bounds it)")
        elif os.path.isdir("/proc"):
            limits.append(("NPROC", _tasks_of_uid(os.getuid()) + max_processes))
        else:
            missing.append("process limit: cannot count this user's processes (no /proc)")
    applied = False
    for name, value in limits:
        try:
            which = getattr(resource, "RLIMIT_" + name)
            _, hard = resource.getrlimit(which)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(which, (value, value))
            applied = True
        except (AttributeError, OSError, ValueError) as e:
            missing.append(f"rlimit {name}: {e}")
    return applied


def seal(*, read: list[str], write: list[str], max_file_mb: int = 256, max_open_files: int = 256,
         max_processes: int | None = 64, network: bool = False) -> Sealed:
    """Apply no_new_privs, Landlock (files, TCP, signals and abstract sockets) and rlimits to this process, for good.
    Call in the child after fork, before untrusted code. Never raises for a missing feature. `network=True`
    leaves TCP alone (a Jupyter kernel talks to its client over 127.0.0.1)."""
    layers: list[str] = []
    missing: list[str] = []
    if _rlimits(max_file_mb, max_open_files, max_processes, missing):
        layers.append("rlimits")
    abi, why = _probe_landlock()
    if sys.platform.startswith("linux"):  # no setuid/file-capability gains; Landlock requires it when unprivileged
        if _libc().prctl(*(ctypes.c_ulong(a) for a in (_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))) != 0:
            missing.append(f"no_new_privs: prctl failed ({os.strerror(ctypes.get_errno())})")
    if abi:
        _landlock(read, write, abi, layers, missing, network)
    else:
        missing.insert(0, "landlock: " + why)
    return Sealed(tuple(layers), tuple(missing))


def describe(sealed: Sealed) -> str:
    """One line for reports; starts with "NOT SEALED" unless the filesystem layer was applied."""
    if "landlock-fs" not in sealed.layers:
        rest = ", rlimits applied" if "rlimits" in sealed.layers else ""
        return f"NOT SEALED: {'; '.join(sealed.missing) or 'landlock not applied'}{rest}"
    parts = [n for n, layer in (("files", "fs"), ("network", "net"), ("signals", "signals"))
             if f"landlock-{layer}" in sealed.layers]
    text = f"sealed: landlock ABI {landlock_abi()} ({', '.join(parts)})"
    text += ", rlimits" if "rlimits" in sealed.layers else ""
    others = [layer for layer in sealed.layers if not layer.startswith("landlock") and layer != "rlimits"]
    text += "".join(f", {layer}" for layer in others)
    return text + (f"; missing: {'; '.join(sealed.missing)}" if sealed.missing else "")


# -- a private /dev/shm ----------------------------------------------------------------------------------
SHM = "/dev/shm"
SHM_SIZE = "512m"
_CLONE_NEWNS, _CLONE_NEWUSER = 0x00020000, 0x10000000
_MS_NOSUID, _MS_NODEV, _MS_REC, _MS_PRIVATE = 0x2, 0x4, 0x4000, 0x40000


def private_shm_namespace() -> bool:
    """For a process that keeps the host's network (nbgrader's kernel): new user (when not root) and mount
    namespaces with a private tmpfs on /dev/shm. True when it worked."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(_CLONE_NEWNS | (0 if uid == 0 else _CLONE_NEWUSER)) != 0:
        return False
    if uid != 0:
        try:
            for path, text in (("/proc/self/setgroups", "deny"), ("/proc/self/uid_map", f"{uid} {uid} 1"),
                               ("/proc/self/gid_map", f"{gid} {gid} 1")):
                with open(path, "w") as f:
                    f.write(text)
        except OSError:
            return False
    return private_shm(libc)


def private_shm(libc: ctypes.CDLL) -> bool:
    """A fresh tmpfs on /dev/shm, seen only in this mount namespace: DataLoader workers and multiprocessing
    need it (semaphores, shared tensors), and a private one is writable without exposing the host's."""
    if libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        return False
    if not os.path.isdir(SHM):
        return False
    options = f"size={SHM_SIZE},mode=1777".encode()
    return libc.mount(b"tmpfs", SHM.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, options) == 0
