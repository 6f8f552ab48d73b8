"""Benchmark (not a test): images/s of lesson 6's reference TarImageDataset for 0, 1 and 2 DataLoader
workers, next to webdataset reading the same shards, and the per-file ImageDirectoryDataset.

    .venv/bin/pip install -e ".[bench]"       # webdataset (optional; its row is skipped without it)
    .venv/bin/python benchmarks/lesson6_loading.py [--images 256] [--size 256] [--shards 4] [--repeats 3]

Every row is measured in this one run, on the same files, best of --repeats epochs (after one warm epoch,
so the page cache is warm: this is the local-disk case, where per-file and tar reading cost about the same;
the grader's streams_on_slow_storage check simulates a network file system).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.data import sample_images, write_image_dir, write_shards  # noqa: E402
from grader.engine.registry import course  # noqa: E402
from grader.engine.submission import read_code, run_cells  # noqa: E402


def reference():
    """The solution notebook's classes (maintainers' tool: it reads solutions/)."""
    return run_cells(read_code(course().lesson("lesson6").notebook("solutions"))).module


def epoch_rate(make_loader, n: int, repeats: int) -> float:
    make_and_read = lambda: sum(1 for _ in make_loader())  # noqa: E731
    if make_and_read() != n:
        raise RuntimeError("wrong number of items")
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        count = make_and_read()
        best = min(best, time.perf_counter() - start)
        assert count == n, count
    return n / best


def webdataset_loader(paths: list[Path], workers: int):
    import webdataset as wds

    def decode(sample):
        bgr = cv2.imdecode(np.frombuffer(sample["png"], np.uint8), cv2.IMREAD_COLOR)
        return sample["__key__"], torch.from_numpy(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)).permute(2, 0, 1)

    urls = [str(p) for p in paths]
    dataset = wds.WebDataset(urls, shardshuffle=False, nodesplitter=wds.split_by_node,
                             workersplitter=wds.split_by_worker, empty_check=False).map(decode)
    return torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    ref = reference()
    images = sample_images(args.images, size=args.size)
    folder = Path(tempfile.mkdtemp(prefix="bench-lesson6-"))
    paths = write_shards(images, folder / "shards", args.shards)
    write_image_dir(images, folder / "files")
    n = len(images)
    rows = []
    for workers in (0, 1, 2):
        rows.append((f"reference TarImageDataset, num_workers={workers}", epoch_rate(
            lambda w=workers: torch.utils.data.DataLoader(ref.TarImageDataset(paths), batch_size=None,
                                                          num_workers=w), n, args.repeats)))
    try:
        import webdataset  # noqa: F401
    except ImportError:
        rows.append(("webdataset (not installed: pip install -e '.[bench]')", float("nan")))
    else:
        for workers in (0, 1, 2):
            rows.append((f"webdataset, num_workers={workers}",
                         epoch_rate(lambda w=workers: webdataset_loader(paths, w), n, args.repeats)))
    for workers in (0, 2):
        rows.append((f"reference ImageDirectoryDataset (one file per image), num_workers={workers}", epoch_rate(
            lambda w=workers: torch.utils.data.DataLoader(ref.ImageDirectoryDataset(folder / "files"),
                                                          batch_size=None, num_workers=w), n, args.repeats)))
    table = Table(title=f"lesson 6: {n} PNG images of {args.size}x{args.size} in {args.shards} shards, "
                        f"best of {args.repeats} warm epochs")
    table.add_column("reader")
    table.add_column("images/s", justify="right")
    table.add_column("vs reference, 0 workers", justify="right")
    base = rows[0][1]
    for name, rate in rows:
        table.add_row(name, f"{rate:.0f}", f"{rate / base:.2f}x")
    Console().print(table)


if __name__ == "__main__":
    main()
