"""Is lesson 5 graded right? Reference full, stub zero, each mutant loses the check naming its mistake."""

from __future__ import annotations

import pytest
import torch

from grader.judging.loops import batch_loops
from grader.probes.devices import run_on_device
from tests.conftest import (
    assert_cuda_rows_skipped_without_a_gpu,
    assert_full_marks,
    assert_stub_earns_zero,
    failures,
    row,
)

LESSON = "lesson5"
EXERCISE = "batch_gather"
# openfold_ranges.py indexes with a list of index objects (issue 9: once blamed on the student by the fake device)
ALTERNATIVES = ["gather_based.py", "take_along_dim.py", "advanced_indexing.py", "openfold_ranges.py"]


def test_reference_earns_full_marks(graded):
    report = graded(LESSON, "reference")
    assert_full_marks(report)
    assert all(r.status == "passed" for r in report.results if r.device == "cpu")


def test_cuda_rows_are_skipped_not_passed_without_a_gpu(graded):
    assert_cuda_rows_skipped_without_a_gpu(graded(LESSON, "reference"))


def test_stub_earns_zero_with_not_implemented_messages(graded):
    assert_stub_earns_zero(graded(LESSON, "stub"))


@pytest.mark.parametrize(
    "name, check, words",
    [
        ("python_loop.py", "no_python_loop", ["loops over the batch", "reads your code",
                                              "`for i in range(tensor.size(0)):`"]),
        ("python_loop.py", "speed_vs_loop", ["faster than a Python loop", "needs >= 8x"]),
        ("python_loop.py", "speed_vs_gather", ["the time of one torch.gather call", "allowed <= 4x"]),
        ("seed_cuda.py", "device_placement", ["mixed devices", ".cuda()", "hard-coded device", "cuda:0",
                                              "device=indices.device"]),
        ("default_device_offsets.py", "device_placement", ["fake CUDA", "torch.arange", "default device",
                                                           "device=indices.device"]),
        ("wrong_stride.py", "seed_example", ["different examples", "i * N"]),
        ("only_1d_indices.py", "index_shapes", ["works for indices of shape [B]", "[B, *k]"]),
        ("only_2d_tensor.py", "trailing_dims", ["works for a tensor of shape [B, N]", "trailing dims"]),
        ("clamps.py", "out_of_range", ["instead of raising IndexError", "clamped"]),
        ("gather_without_bounds_check.py", "out_of_range", ["raised RuntimeError", "not IndexError"]),
        ("detached.py", "gradients", ["does not require grad", "detach"]),
        ("in_place_offsets.py", "seed_example", ["in place", "`indices`"]),
    ],
)
def test_mutant_loses_the_check_that_names_its_mistake(graded, name, check, words):
    report = graded(LESSON, name)
    result = row(report, EXERCISE, check)
    assert result.status == "failed", result
    assert result.points == 0
    for word in words:
        assert word in result.message, result.message
    assert report.score < report.max_score


@pytest.mark.parametrize("name, check", [
    ("clamps.py", "out_of_range"),
    ("gather_without_bounds_check.py", "out_of_range"),
    ("detached.py", "gradients"),
    ("default_device_offsets.py", "device_placement"),
])
def test_mutant_keeps_the_points_of_what_it_got_right(graded, name, check):
    report = graded(LESSON, name)
    lost = [r.check for r in report.results if r.status not in ("passed", "skipped")]
    assert lost == [check]


def test_seed_cuda_fails_every_cpu_check_without_a_gpu(graded):
    if torch.cuda.is_available():
        pytest.skip("with a GPU, .cuda() runs; device_placement still catches it")
    report = graded(LESSON, "seed_cuda.py")
    assert report.score == 0
    assert "Torch not compiled with CUDA" in row(report, EXERCISE, "seed_example").message


@pytest.mark.parametrize("name", ALTERNATIVES)
def test_correct_but_different_implementation_earns_full_marks(graded, name):
    report = graded(LESSON, name)
    assert not failures(report)
    assert report.score == report.max_score
    assert all(r.status == "passed" for r in report.results if r.device == "cpu")  # nothing inconclusive


# ------------------------------------------------------------------------------------------------------
# The static loop reader (grader/judging/loops.py): batch loops are found, loops over dims are not.
# ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("body", [
    "for i in range(tensor.size(0)):\n        pass",
    "for i in range(len(indices)):\n        pass",
    "batch = tensor.shape[0]\n    for i in range(batch):\n        pass",
    "batch, n, *rest = tensor.shape\n    out = [tensor[i, indices[i]] for i in range(batch)]",
    "dims = list(tensor.shape)\n    for i in range(dims[0] * 1):\n        pass",
    "out = torch.stack([t[i] for t, i in zip(tensor, indices)])",
    "for row in tensor.unbind(0):\n        pass",
    "i = 0\n    while i < indices.numel():\n        i += 1",
    "out = list(map(lambda p: p, indices))",
    "flat = indices.reshape(-1)\n    for i in flat:\n        pass",
])
def test_static_reader_finds_loops_over_the_batch(body):
    source = f"def batch_gather(tensor, indices):\n    {body}\n"
    assert batch_loops(source), body


@pytest.mark.parametrize("body", [
    "for _ in range(tensor.dim() - 2):\n        indices = indices.unsqueeze(-1)",
    "for size in tensor.shape[2:]:\n        pass",
    "batch, n, *rest = tensor.shape\n    for size in rest:\n        pass",
    "for size in tensor.shape:\n        pass",
    "while indices.dim() < tensor.dim():\n        indices = indices.unsqueeze(-1)",
    "for t in (tensor, indices):\n        pass",
    "n = tensor.shape[1]\n    for j in range(n):\n        pass",
    "shape = [1] * (indices.dim() - 1)",
])
def test_static_reader_allows_loops_over_dims(body):
    source = f"def batch_gather(tensor, indices):\n    {body}\n"
    assert not batch_loops(source), body


def test_static_reader_follows_top_level_helpers():
    helpers = {"rows_of": "def rows_of(x, count):\n    return [x[i] for i in range(count)]\n"}
    source = "def batch_gather(tensor, indices):\n    return rows_of(tensor, tensor.shape[0])\n"
    loops = batch_loops(source, helpers.get)
    assert [(loop.function, loop.line) for loop in loops] == [("rows_of", 2)]
    assert not batch_loops(source.replace("tensor.shape[0]", "tensor.dim()"), helpers.get)


# ------------------------------------------------------------------------------------------------------
# Fake-CUDA device placement (grader/devices.py), in-process.
# ------------------------------------------------------------------------------------------------------
def _gather(tensor, indices, offsets_device=None):
    batch, n = tensor.shape[0], tensor.shape[1]
    if int(indices.min()) < 0 or int(indices.max()) >= n:  # data-dependent: replayed from the CPU run
        raise IndexError("out of range")
    offsets = torch.arange(batch, device=offsets_device or indices.device) * n
    return tensor.reshape(batch * n, -1)[indices + offsets]


@pytest.mark.parametrize("home, offsets_device, outcome", [
    ("cuda", None, "ok"),
    ("cpu", None, "ok"),
    ("cuda", "cpu", "mismatch"),
    ("cpu", "cuda", "mismatch"),
])
def test_fake_cuda_catches_device_mixing(home, offsets_device, outcome):
    tensor, indices = torch.randn(3, 4, 2), torch.tensor([0, 3, 1])
    r = run_on_device(lambda t, i: _gather(t, i, offsets_device), [tensor, indices], home)
    assert r["outcome"] == outcome, r
    if outcome == "ok":
        assert r["output_device"].startswith(home)
    else:
        assert any(site["call"] == "torch.arange" and site["device"].startswith(offsets_device)
                   for site in r["sites"])


def test_fake_cuda_reports_what_it_cannot_simulate_as_inconclusive():
    tensor, indices = torch.randn(3, 4), torch.tensor([0, 3, 1])
    r = run_on_device(lambda t, i: t[t > 0], [tensor, indices], "cuda")
    assert r["outcome"] == "inconclusive", r


@pytest.mark.parametrize("name, check", [("clamps.py", "out_of_range"), ("default_device_offsets.py",
                                                                      "device_placement")])
def test_the_central_pitfalls_fail_the_public_self_check(name, check):
    """issue 9 #5: out-of-range indices and device placement are caught by the student's own self-check."""
    from grader.engine.submission import CodeCell, run_cells
    from grader.selfcheck import run_public
    from tests.mutants import SUBMISSIONS

    module = run_cells([CodeCell("mutant", (SUBMISSIONS / LESSON / name).read_text())]).module
    failed = [r for r in run_public(module.batch_gather, lesson=LESSON) if r.status == "failed"]
    assert check in [r.check for r in failed]
    assert all(r.check == check or r.message.startswith("not awarded") for r in failed), failed
