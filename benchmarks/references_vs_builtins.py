"""Benchmark (not a test): each lesson's reference solution against the best torch built-in for the same job
(issue 14, goal 5: references near the physical bar, goal <= 1.5x the built-in's time).

    .venv/bin/pip install -e ".[bench]"       # webdataset, for the lesson 6 row (skipped without it)
    .venv/bin/python benchmarks/references_vs_builtins.py [--quick] [--json FILE]

Per job, in this one run: inputs are made once and shared by both sides; the reference's values are first
checked against every built-in's (torch.testing.assert_close), so only correct code is timed; then each side
is timed with torch.utils.benchmark's Timer(...).blocked_autorange(min_run_time=...), num_threads=1,
alternating sides for a few rounds and keeping each side's best median (another process may share the
cores). Where several built-in expressions do the job, all are checked and timed and the fastest is the bar
(named in the row). The reference code is the solution notebook's (tests.mutants.reference_code), run into a
fresh module by the grader's own loader. Sizes follow the graded speed checks (grader/probes/lessonN.py).

--quick: min_run_time 0.2 s, one round (about 15 s here); default: 0.5 s, best of three rounds (about a minute).
A ratio over the goal carries the reason, read from the reference code, in the verdict column.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from torch import nn
from torch.testing import assert_close
from torch.utils.benchmark import Timer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.data import sample_images, write_shards  # noqa: E402
from grader.engine.submission import CodeCell, run_cells  # noqa: E402
from grader.probes.lesson8 import reference_epoch  # noqa: E402
from tests.mutants import reference_code  # noqa: E402

GOAL = 1.5


def reference(lesson: str):
    """The lesson's reference solution (its solution notebook's code cells) as a module."""
    sub = run_cells([CodeCell(f"{lesson} reference", reference_code(lesson))], name=f"{lesson}_reference")
    if sub.problems:
        raise RuntimeError(f"{lesson}'s reference did not load: {'; '.join(sub.problems)}")
    return sub.module


@dataclass
class Job:
    name: str  # "lesson7 softmax"
    what: str  # the inputs and what one timed call does
    reference: Callable[[], Any]  # one call of the job, the reference's way
    builtins: dict[str, Callable[[], Any]]  # one call of the job per built-in expression
    reason: str  # what the reference does beyond the built-in (read from its code); shown when over the goal
    verify: Callable[[], None] | None = None  # default: every built-in's result assert_close to the reference's


@dataclass
class Row:
    job: str
    what: str
    reference_s: float | None = None
    builtin: str | None = None
    builtin_s: float | None = None
    ratio: float | None = None
    verdict: str = ""
    candidates: dict[str, float] = field(default_factory=dict)


def measure(fn: Callable[[], Any], min_run_time: float) -> float:
    timer = Timer(stmt="run()", globals={"run": fn}, num_threads=1)
    return timer.blocked_autorange(min_run_time=min_run_time).median


def run_job(job: Job, min_run_time: float, rounds: int) -> Row:
    if job.verify is not None:
        job.verify()
    else:
        expected = job.reference()
        for name, fn in job.builtins.items():
            try:
                assert_close(expected, fn())
            except AssertionError as exc:
                raise AssertionError(f"{job.name}: the reference and {name} disagree: {exc}") from exc
    ref_s = float("inf")
    times = dict.fromkeys(job.builtins, float("inf"))
    for _ in range(rounds):
        ref_s = min(ref_s, measure(job.reference, min_run_time))
        for name, fn in job.builtins.items():
            times[name] = min(times[name], measure(fn, min_run_time))
    best = min(times, key=times.get)
    ratio = ref_s / times[best]
    verdict = "ok" if ratio <= GOAL else f"over: {job.reason}"
    return Row(job.name, job.what, ref_s, best, times[best], ratio, verdict, times)


# ------------------------------------------------------------------------------------------------------
# The jobs, lesson by lesson (sizes from the graded speed checks where there is one)
# ------------------------------------------------------------------------------------------------------
def lesson3_jobs() -> list[Job]:
    ref = reference("lesson3")
    g = torch.Generator().manual_seed(3)
    # Merge: grader/probes/lesson3.py SPEED: a [32, 512, 32], b [32, 1, 512], out 16, no activation, no grad
    a, b = torch.randn(32, 512, 32, generator=g), torch.randn(32, 1, 512, generator=g)
    torch.manual_seed(0)
    merge = ref.Merge(32, 512, 16)
    w1, b1 = merge.linear1.weight.detach(), merge.linear1.bias.detach()
    w2, b2 = merge.linear2.weight.detach(), merge.linear2.bias.detach()
    batch = a.shape[0]

    def no_grad(fn: Callable[[], Any]) -> Callable[[], Any]:
        def run():
            with torch.no_grad():
                return fn()
        return run

    merge_job = Job(
        "lesson3 Merge.forward", "a [32, 512, 32], b [32, 1, 512] -> [32, 512, 16], no_grad",
        no_grad(lambda: merge(a, b)),
        {
            "F.linear(a, W1, b1) + F.linear(b, W2, b2)": no_grad(lambda: F.linear(a, w1, b1) + F.linear(b, w2, b2)),
            "F.linear(a, W1, b1).add_(F.linear(b, W2, b2))":
                no_grad(lambda: F.linear(a, w1, b1).add_(F.linear(b, w2, b2))),
            "torch.baddbmm(F.linear(b, W2, b1 + b2), a, W1.T)":
                no_grad(lambda: torch.baddbmm(F.linear(b, w2, b1 + b2), a, w1.T.expand(batch, -1, -1))),
        },
        "three nn.Module calls (Merge, linear1, linear2) and an out-of-place broadcast add that allocates and "
        "writes a second [32, 512, 16] tensor after linear1's output, where add_ or baddbmm (the b projection "
        "added inside the matmul) write the output once")
    # total_scores: item_scores [B, items, 1], bias [B]
    scores, bias = torch.randn(512, 64, 1, generator=g), torch.randn(512, generator=g)
    total_job = Job(
        "lesson3 total_scores", "item_scores [512, 64, 1], bias [512]",
        lambda: ref.total_scores(scores, bias),
        {
            "item_scores.sum(dim=(1, 2)) + bias": lambda: scores.sum(dim=(1, 2)) + bias,
            "torch.addmv(bias, item_scores.view(B, -1), ones)":
                lambda: torch.addmv(bias, scores.view(scores.shape[0], -1), scores.new_ones(scores.shape[1])),
        },
        "two kernels (sum over the items, then + bias, through a [512] temporary) where addmv does the sum "
        "and the bias in one call; at this size each call is a few microseconds of dispatch")
    return [merge_job, total_job]


def lesson4_jobs() -> list[Job]:
    ref = reference("lesson4")
    g = torch.Generator().manual_seed(4)
    x = torch.rand(500, 10, generator=g)  # grader/probes/lesson4.py SPEED["shape"]
    row_sum = Job(
        "lesson4 row_sum", "x [500, 10], sum over dim 0",
        lambda: ref.row_sum(x), {"x.sum(dim=0)": lambda: x.sum(dim=0)},
        "the reference is torch.sum(x, dim=0) itself: only one Python function call more")
    y = torch.randn(1024, 256, generator=g)
    lo, hi, dim = -0.5, 1.0, 1

    def mask():
        return (y >= lo) & (y < hi)

    def by_product():
        m = mask()
        return (y * m).sum(dim) / m.sum(dim)

    masked = Job(
        "lesson4 masked_mean", f"x [1024, 256], lo={lo:g}, hi={hi:g}, dim={dim}",
        lambda: ref.masked_mean(y, lo, hi, dim),
        {
            "m = (x >= lo) & (x < hi); (x * m).sum(d) / m.sum(d)": by_product,
            "torch.where(m, x, nan).nanmean(d)": lambda: torch.where(mask(), y, float("nan")).nanmean(dim),
            "torch.masked.mean(x, d, mask=m)": lambda: torch.masked.mean(y, dim, mask=mask()),
        },
        "torch.where(inside, x, 0): aten::where is the slow step on CPU (profiled on the 2-core dev machine: "
        "~1 ms of the reference's ~1.5 ms), where x * mask (a bool->float cast and a vectorized multiply) takes "
        "~0.35 ms; the other ops (>=, <, &, two sums, divide) are the same on both sides")
    return [row_sum, masked]


def lesson5_jobs() -> list[Job]:
    ref = reference("lesson5")
    g = torch.Generator().manual_seed(5)
    batch, n, d = 4096, 50, 8  # grader/probes/lesson5.py SPEED_SHAPE
    t, i = torch.randn(batch, n, d, generator=g), torch.randint(0, n, (batch,), generator=g)
    return [Job(
        "lesson5 batch_gather", "tensor [4096, 50, 8], indices [4096] -> [4096, 8] (index prep timed)",
        lambda: ref.batch_gather(t, i),
        {
            "torch.gather(t, 1, i.view(B, 1, 1).expand(B, 1, D)).squeeze(1)":
                lambda: torch.gather(t, 1, i.view(batch, 1, 1).expand(batch, 1, d)).squeeze(1),
            "torch.take_along_dim(t, i.view(B, 1, 1), 1).squeeze(1)":
                lambda: torch.take_along_dim(t, i.view(batch, 1, 1), 1).squeeze(1),
            "t[torch.arange(B), i]": lambda: t[torch.arange(batch), i],
        },
        "the range check the built-ins skip (torch.aminmax over the indices, then `low < 0 or high >= n`: two "
        "tensor-to-bool conversions; ~10 us here), and the flat offsets built by separate ops (arange, "
        "multiply, add) before one index into the flattened [204800, 8] tensor, where t[arange, i] does that "
        "arithmetic inside its index kernel")]


def lesson7_jobs() -> list[Job]:
    ref = reference("lesson7")
    g = torch.Generator().manual_seed(7)
    rows, classes = 512, 100  # grader/probes/lesson7.py SPEED["shape"]
    logits = (torch.randn(rows, classes, generator=g) * 3).requires_grad_(True)
    plain = logits.detach()
    cotangent = torch.randn(rows, classes, generator=g)
    weights = torch.rand(rows, classes, generator=g, dtype=torch.float64) ** 3 + 1e-3
    labels = (weights / weights.sum(-1, keepdim=True)).float()
    targets = torch.randint(0, classes, (rows,), generator=g)

    def fwd_bwd(fn: Callable[[torch.Tensor], torch.Tensor], grad_out: torch.Tensor | None = None):
        def run():
            logits.grad = None
            y = fn(logits)
            y.backward(grad_out if grad_out is not None else torch.ones_like(y))
            return y.detach(), logits.grad
        return run

    size = "logits [512, 100]"
    forward = ("{n} kernels ({ops}), each a full pass over the logits with a [512, 100] temporary, where torch "
               "runs one fused kernel")
    amax = ("an eq mask of the maxima, a bool->float cast, a tie count and a divide, for a net gradient of zero "
            "since the shift cancels")
    return [
        Job("lesson7 softmax (forward)", size + ", no grad", lambda: ref.softmax(plain),
            {"torch.softmax(x, -1)": lambda: torch.softmax(plain, -1)},
            forward.format(n=5, ops="amax, subtract, exp, sum, divide")),
        Job("lesson7 softmax (forward + backward)", size + ", random cotangent", fwd_bwd(ref.softmax, cotangent),
            {"torch.softmax(x, -1)": fwd_bwd(lambda x: torch.softmax(x, -1), cotangent)},
            "the backward: one autograd node per forward op (amax, subtract, exp, sum, divide), amax's included ("
            + amax + "), and the divide's two-branch backward with a broadcast sum, where torch.softmax's backward "
            "is one fused kernel"),
        Job("lesson7 log_softmax (forward)", size + ", no grad", lambda: ref.log_softmax(plain),
            {"torch.log_softmax(x, -1)": lambda: torch.log_softmax(plain, -1)},
            forward.format(n=6, ops="amax, subtract, exp, sum, log, subtract")),
        Job("lesson7 log_softmax (forward + backward)", size + ", random cotangent",
            fwd_bwd(ref.log_softmax, cotangent),
            {"torch.log_softmax(x, -1)": fwd_bwd(lambda x: torch.log_softmax(x, -1), cotangent)},
            "the backward: one autograd node per forward op (amax, subtract, exp, sum, log, subtract), amax's "
            "included (" + amax + "), where torch.log_softmax's backward is one fused kernel"),
        Job("lesson7 softmax_cross_entropy (forward + backward)", size + ", soft labels, per-row loss .sum()",
            fwd_bwd(lambda x: ref.softmax_cross_entropy(labels, x)),
            {
                'F.cross_entropy(x, labels, reduction="none")':
                    fwd_bwd(lambda x: F.cross_entropy(x, labels, reduction="none")),
                "-(labels * torch.log_softmax(x, -1)).sum(-1)":
                    fwd_bwd(lambda x: -(labels * torch.log_softmax(x, -1)).sum(-1)),
            },
            "its log_softmax: six kernels forward and six autograd nodes backward, amax's included (" + amax
            + "), where torch runs one fused log_softmax kernel each way; the label product, sum and negation "
            "are the same on both sides"),
        Job("lesson7 cross_entropy (forward + backward)", size + ", class targets, mean loss",
            fwd_bwd(lambda x: ref.cross_entropy(x, targets)),
            {"F.cross_entropy(x, targets)": fwd_bwd(lambda x: F.cross_entropy(x, targets))},
            "its log_softmax (six kernels forward, six autograd nodes backward, amax's included: " + amax
            + "), then gather, mean and negate, where F.cross_entropy runs one fused log_softmax kernel and one "
            "nll_loss kernel each way (nll_loss reads the target entries itself: no gather)"),
    ]


def lesson8_jobs() -> list[Job]:
    ref = reference("lesson8")
    g = torch.Generator().manual_seed(8)
    # grader/probes/lesson8.py SPEED: 512 examples, batches of 32, MLP 64-128-10, SGD(lr 0.05, momentum 0.9)
    x, y = torch.randn(512, 64, generator=g), torch.randint(0, 10, (512,), generator=g)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32)
    torch.manual_seed(0)
    start = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))

    def trainer(epoch_fn: Callable) -> Callable[[], float]:
        model = copy.deepcopy(start)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()

        def run() -> tuple[float, list[torch.Tensor]]:
            loss = epoch_fn(model, loader, optimizer, loss_fn, "cpu")
            return loss, [p.detach().clone() for p in model.parameters()]
        return run

    def verify() -> None:  # from the same start, one epoch each: the same mean loss and parameters
        assert_close(trainer(ref.train_one_epoch)(), trainer(reference_epoch)())

    def epochs(epoch_fn: Callable) -> Callable[[], float]:  # timed: one more epoch of its own model
        model = copy.deepcopy(start)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()
        return lambda: epoch_fn(model, loader, optimizer, loss_fn, "cpu")

    return [Job(
        "lesson8 train_one_epoch", "one epoch: 16 batches of 32 from a DataLoader, MLP 64-128-10, SGD momentum",
        epochs(ref.train_one_epoch), {"grader.probes.lesson8.reference_epoch (plain loop)": epochs(reference_epoch)},
        "the accumulation bookkeeping (len(loader), group sizes) and one more autograd op per batch "
        "(loss / group_size before backward)", verify=verify)]


def lesson6_job(folder: Path) -> Job | Row:
    name = "lesson6 TarImageDataset"
    what = "DataLoader pass, 128 PNG 384x384 in 4 shards, 2 workers (fork), OpenCV decode"
    try:
        import webdataset as wds
    except ImportError:
        return Row(name, what, verdict="skipped: webdataset is not installed (pip install -e '.[bench]')")
    ref = reference("lesson6")
    # the sizes of the workers_share_decoding check (course.yml): 128 PNG images of 384 x 384 in 4 shards
    paths = write_shards(sample_images(128, size=384), folder / "shards", 4)
    urls = [str(p) for p in paths]

    def decode(sample: dict) -> tuple[str, torch.Tensor]:  # the reference's own OpenCV decoding
        return sample["__key__"], ref.decode_rgb(sample["png"], sample["__key__"])

    def loader(dataset) -> torch.utils.data.DataLoader:
        return torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=2, multiprocessing_context="fork")

    def tar_pass():
        return loader(ref.TarImageDataset(paths))

    def wds_pass():
        return loader(wds.WebDataset(urls, shardshuffle=False, nodesplitter=wds.split_by_node,
                                     workersplitter=wds.split_by_worker, empty_check=False).map(decode))

    def verify() -> None:
        got = {}
        for side, make in (("reference", tar_pass), ("webdataset", wds_pass)):
            items = list(make())
            got[side] = dict(items)
            assert len(got[side]) == len(items) == 128, (side, len(items))
        assert got["reference"].keys() == got["webdataset"].keys()
        for key, image in got["reference"].items():
            assert_close(image, got["webdataset"][key])

    def count(make) -> Callable[[], int]:
        return lambda: sum(1 for _ in make())

    return Job(name, what, count(tar_pass), {"webdataset.WebDataset(...).map(decode)": count(wds_pass)},
               "none found in the code: both stream each shard with tarfile ('r|'), read each member with "
               "extractfile().read() and decode it with the same decode_rgb; a gap is noise in a pass dominated "
               "by starting the workers and decoding PNGs", verify=verify)


# ------------------------------------------------------------------------------------------------------
def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1e-1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="min_run_time 0.2 s and one round (default 0.5 s, 3)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the rows to FILE as JSON")
    args = parser.parse_args()
    min_run_time, rounds = (0.2, 1) if args.quick else (0.5, 3)
    torch.set_num_threads(1)
    console = Console(width=200)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-refs-") as tmp:
        jobs: list[Job | Row] = [*lesson3_jobs(), *lesson4_jobs(), *lesson5_jobs(), lesson6_job(Path(tmp)),
                                 *lesson7_jobs(), *lesson8_jobs()]
        for job in jobs:
            if isinstance(job, Row):  # skipped
                rows.append(job)
                continue
            with console.status(f"{job.name} ..."):
                rows.append(run_job(job, min_run_time, rounds))
    table = Table(title=f"reference solutions vs the best torch built-in, one thread, this machine, one run "
                        f"(median of blocked_autorange, min_run_time {min_run_time:g} s, best of {rounds} "
                        f"round{'s' if rounds > 1 else ''})", expand=True)
    for column, justify, ratio in (("job", "left", 3), ("reference", "right", None), ("built-in", "left", 3),
                                   ("ratio", "right", None), ("goal", "right", None), ("verdict", "left", 5)):
        table.add_column(column, justify=justify, ratio=ratio, no_wrap=ratio is None)
    for row in rows:
        builtin = f"{fmt_time(row.builtin_s)}  {escape(row.builtin)}" if row.builtin else "-"
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
        table.add_row(f"{escape(row.job)}\n[dim]{escape(row.what)}[/dim]", fmt_time(row.reference_s), builtin,
                      ratio, f"<= {GOAL:g}x", escape(row.verdict))
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps([vars(row) | {"goal": GOAL} for row in rows], indent=2) + "\n")


if __name__ == "__main__":
    main()
