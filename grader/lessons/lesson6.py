"""Lesson 6 (data loading): `ImageDirectoryDataset` and `TarImageDataset`.

Judge side. Each check writes its files (scikit-learn's sample photos, cropped; grader.data) into the
runner's `data_dir`, which the child may read but not change, runs a probe of grader.probes.lesson6, and
compares here: the keys as a multiset against the full set, every image against OpenCV's own decoding of
the same bytes (converted to RGB), errors by type and by the path they name. Memory is read from /proc by
the judge while the child iterates; file opens are counted by inotify in this process.
"""

from __future__ import annotations

import collections
import functools
import math
from pathlib import Path

import cv2
import numpy as np
import torch

from grader.data.shards import encode, sample_images, write_image_dir, write_shards
from grader.engine.checks import Fail, Measured, Skip, StudentError, check
from grader.engine.runners import InProcessRunner
from grader.probes.lesson6 import (
    _digest,
    probe_directory,
    probe_directory_count,
    probe_distributed,
    probe_raises,
    probe_tar_count,
    probe_tar_epochs,
    probe_tar_keys,
)

MIB = 1024 * 1024
DUPLICATES = ("Every DataLoader worker (and every distributed rank) runs its own copy of your __iter__, so a "
              "dataset that does not split its work yields everything once per worker. Split the shards (or "
              "their members) by torch.utils.data.get_worker_info() and by torch.distributed's rank and world "
              "size.")
NO_WORKER_INFO = ("torch.utils.data.get_worker_info() is None when num_workers=0 (the main process reads the "
                  "data): treat it as worker 0 of 1.")


# ------------------------------------------------------------------------------------------------------
# Files (judge side): generated once per runner, in the folder the child may only read
# ------------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=16)
def _images(n: int, size: int | tuple[int, int], seed: int) -> dict[str, np.ndarray]:
    return sample_images(n, size=size, seed=seed)


def _decoded(data: bytes) -> torch.Tensor:
    """What a right answer returns for these bytes: OpenCV's decoding, RGB, [3, H, W]."""
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return torch.from_numpy(np.ascontiguousarray(bgr[..., ::-1])).permute(2, 0, 1).contiguous()


class Shards:
    """A set of shards written for one check: their paths, and per key the expected image."""

    def __init__(self, folder: Path, n_images: int, n_shards: int, ext: str = ".png",
                 size: int | tuple[int, int] = 64, seed: int = 0):
        self.images = _images(n_images, size, seed)
        self.ext = ext
        if not folder.exists():
            write_shards(self.images, folder, n_shards, ext=ext)
        self.paths = sorted(str(p) for p in folder.glob("shard-*.tar"))
        self.keys = sorted(self.images)
        self.shard_of = {k: Path(self.paths[i]).name for i in range(n_shards)
                         for k in self.keys[i * len(self.keys) // n_shards:(i + 1) * len(self.keys) // n_shards]}

    def expected(self, key: str) -> torch.Tensor:
        if self.ext == ".png" or self.ext == ".bmp":
            return torch.from_numpy(self.images[key]).permute(2, 0, 1).contiguous()
        return _decoded(encode(self.images[key], self.ext))


def _shards(sub, name: str, n_images: int, n_shards: int, **kwargs) -> Shards:
    return Shards(Path(sub.data_dir) / name, n_images, n_shards, **kwargs)


def _image_dir(sub, name: str, n_images: int, ext: str = ".png", seed: int = 1,
               extra: dict[str, bytes] | None = None) -> tuple[Path, dict[str, np.ndarray]]:
    folder = Path(sub.data_dir) / name
    images = _images(n_images, 64, seed)
    if not folder.exists():
        write_image_dir(images, folder, ext=ext)
        for file_name, data in (extra or {}).items():
            (folder / file_name).write_bytes(data)
    return folder, images


# ------------------------------------------------------------------------------------------------------
# Judging
# ------------------------------------------------------------------------------------------------------
def _keys_once(keys: list[str], shards: Shards, what: str) -> None:
    """Every key exactly once: say which came twice, which never came, and what that usually means."""
    counts = collections.Counter(keys)
    repeated = {k: c for k, c in counts.items() if c > 1}
    unknown = [k for k in counts if k not in shards.images]
    missing = [k for k in shards.keys if k not in counts]
    if not (repeated or unknown or missing):
        return
    parts = []
    if unknown:
        parts.append(f"{len(unknown)} keys that are no member's name without its extension (e.g. {unknown[0]!r}; "
                     f"the members are named like {shards.keys[0] + shards.ext!r}, so the key is "
                     f"{shards.keys[0]!r})")
    if repeated:
        example, times = next(iter(repeated.items()))
        parts.append(f"{len(repeated)} of {len(shards.keys)} keys came more than once (e.g. {example!r} {times} "
                     f"times)")
    if missing:
        by_shard = collections.Counter(shards.shard_of[k] for k in missing)
        whole = [s for s, c in by_shard.items() if c == sum(1 for k in shards.keys if shards.shard_of[k] == s)]
        detail = f"; all of {', '.join(sorted(whole))}" if whole else ""
        parts.append(f"{len(missing)} of {len(shards.keys)} keys never came (e.g. {missing[0]!r}{detail})")
    hint = ""
    if repeated and not missing:
        hint = " " + DUPLICATES
    elif missing and not repeated and not unknown:
        hint = (" A shard (or member) that no reader takes is lost: check the split for an off-by-one, and that "
                "it covers every shard when there are fewer shards than workers x ranks.")
    raise Fail(f"{what}: {'; '.join(parts)}.{hint}")


def _pixels(got: torch.Tensor, expected: torch.Tensor, what: str) -> None:
    if got.shape == expected.shape and torch.equal(got, expected):
        return
    if got.shape == expected.shape and torch.equal(got, expected.flip(0)):
        raise Fail(f"{what}: the channels are in BGR order. OpenCV decodes to BGR; convert with "
                   "cv2.cvtColor(image, cv2.COLOR_BGR2RGB) (or image[..., ::-1].copy()) before making the tensor.")
    if list(got.shape) != list(expected.shape):
        raise Fail(f"{what}: shape {list(got.shape)}, expected {list(expected.shape)} ([3, H, W] of the file)")
    diff = (got.int() - expected.int()).abs()
    raise Fail(f"{what}: {int((diff > 0).sum())} of {diff.numel()} values differ from OpenCV's decoding of the "
               f"file (largest difference {int(diff.max())}). Decode with cv2.imdecode(np.frombuffer(data, "
               "np.uint8), cv2.IMREAD_COLOR) (or cv2.imread), convert BGR to RGB, then permute(2, 0, 1).")


def _tar_pass(sub, shards: Shards, num_workers: int, what: str, *, pixels: bool = False, **kwargs) -> list[str]:
    try:
        r = sub.call(probe_tar_keys, shards.paths, num_workers, kwargs.get("shuffle", False),
                     kwargs.get("seed", 0), kwargs.get("epochs"), pixels)
    except StudentError as exc:
        hint = ""
        if num_workers == 0 and "NoneType" in str(exc) and ("id" in str(exc) or "num_workers" in str(exc)):
            hint = " " + NO_WORKER_INFO
        raise StudentError(f"{what}: {exc}{hint}") from None
    keys = r["keys"][0]
    _keys_once(keys, shards, what)
    if pixels:
        for key in shards.keys:
            _pixels(r["images"][key], shards.expected(key), f"{what}, the image of {key!r}")
    else:
        expected = {k: _digest(shards.expected(k)) for k in shards.keys}
        for key, digest in zip(keys, r["digests"][0]):
            if digest != expected[key]:
                raise Fail(f"{what}: the image of {key!r} is not the file's (read the images with "
                           "`pixels_all_formats`' advice: decode, BGR to RGB, [3, H, W])")
    return keys


# ------------------------------------------------------------------------------------------------------
# ImageDirectoryDataset
# ------------------------------------------------------------------------------------------------------
def _directory(sub, folder: Path, pattern: str | None, indices: list[int] | None = None,
               num_workers: int = 0) -> dict:
    return sub.call(probe_directory, str(folder), pattern, indices, num_workers)


@check("ImageDirectoryDataset", "reads_images")
def reads_images(sub, device: str, spec) -> str:
    folder, images = _image_dir(sub, "dir-png", 12)
    r = _directory(sub, folder, "*.png")
    if r["len"] != len(images):
        raise Fail(f"len(dataset) is {r['len']} for a folder of {len(images)} PNG files")
    for i, key in enumerate(sorted(images)):
        expected = torch.from_numpy(images[key]).permute(2, 0, 1).contiguous()
        got = r["images"][i]
        if not torch.equal(got, expected) and any(
                torch.equal(got, torch.from_numpy(images[k]).permute(2, 0, 1)) for k in images):
            raise Fail(f"dataset[{i}] is another file's image: item i must be the i-th path in sorted order "
                       "(sorted(Path(root).glob(pattern))); glob and os.listdir return no particular order.")
        _pixels(got, expected, f"dataset[{i}] ({key}.png)")
    return f"{len(images)} images, uint8 [3, H, W], RGB, equal to the files, in sorted order"


@check("ImageDirectoryDataset", "index_is_the_image")
def index_is_the_image(sub, device: str, spec) -> str:
    folder, images = _image_dir(sub, "dir-png", 12)
    order = [5, 0, 11, 5, 3, 3, 7, 0]
    r = _directory(sub, folder, "*.png", order)
    keys = sorted(images)
    for i, got in zip(order, r["images"]):
        expected = torch.from_numpy(images[keys[i]]).permute(2, 0, 1).contiguous()
        if not torch.equal(got, expected) and not torch.equal(got, expected.flip(0)):
            raise Fail(f"reading items {order} in that order: dataset[{i}] is not {keys[i]}.png, the {i}-th file "
                       "in sorted order. __getitem__ must use its index (the seed's random.choice(paths) ignores "
                       "it, so every read returns a random file and an epoch repeats some and skips others).")
    return "dataset[i] is the i-th sorted file, read in any order and repeatedly"


@check("ImageDirectoryDataset", "pattern_and_jpeg")
def pattern_and_jpeg(sub, device: str, spec) -> str:
    folder, images = _image_dir(sub, "dir-jpg", 9, ext=".jpg", seed=2,
                                extra={"notes.txt": b"not an image", "zz-extra.png": encode(_images(1, 64, 3)
                                                                                             ["img-00000"])})
    r = _directory(sub, folder, "*.jpg")
    if r["len"] != len(images):
        raise Fail(f"pattern='*.jpg' on a folder of {len(images)} .jpg files, a .png and a .txt: len(dataset) is "
                   f"{r['len']}. Select the files with the `pattern` argument (Path(root).glob(pattern)).")
    for i, key in enumerate(sorted(images)):
        expected = _decoded((folder / f"{key}.jpg").read_bytes())
        _pixels(r["images"][i], expected, f"pattern='*.jpg': dataset[{i}] ({key}.jpg)")
    return f"pattern='*.jpg' selects the {len(images)} JPEGs; each equals OpenCV's decoding, in RGB"


@check("ImageDirectoryDataset", "through_workers")
def through_workers(sub, device: str, spec) -> str:
    folder, images = _image_dir(sub, "dir-png", 12)
    r = _directory(sub, folder, "*.png", None, 2)
    for i, key in enumerate(sorted(images)):
        _pixels(r["images"][i], torch.from_numpy(images[key]).permute(2, 0, 1).contiguous(),
                f"through a DataLoader with num_workers=2: item {i}")
    return "a DataLoader with 2 workers gives the same images in the same order"


def _names(message: str, path: Path) -> bool:
    return str(path) in message or path.name in message


@check("ImageDirectoryDataset", "unreadable_file")
def unreadable_file(sub, device: str, spec) -> str:
    folder, images = _image_dir(sub, "dir-bad", 4, seed=4, extra={"img-00002x.png": b"this is not a PNG file"})
    bad = folder / "img-00002x.png"
    index = sorted(p.name for p in folder.glob("*.png")).index(bad.name)
    r = sub.call(probe_raises, "directory", [str(folder), "*.png"], index)
    if r["raised"] is None:
        raise Fail(f"dataset[{index}] for {bad.name}, a file that is not an image, raised nothing. cv2.imread "
                   "returns None (it does not raise) when it cannot read a file: check for None and raise.")
    if not _names(r["message"], bad):
        raise Fail(f"dataset[{index}] for a file that is not an image raised {r['raised']}: {r['message'][:200]!r}, "
                   f"which does not name the file. Put the path in the message: the student with 10^6 files "
                   "needs to know which one is broken.")
    return f"an unreadable file raises {r['raised']} naming it"


# ------------------------------------------------------------------------------------------------------
# TarImageDataset
# ------------------------------------------------------------------------------------------------------
@check("TarImageDataset", "keys_and_pixels")
def keys_and_pixels(sub, device: str, spec) -> str:
    shards = _shards(sub, "tar-20x2", 20, 2)
    _tar_pass(sub, shards, 0, "num_workers=0, 2 shards", pixels=True)
    return "num_workers=0: each key once, with the file's pixels (uint8 [3, H, W], RGB)"


@check("TarImageDataset", "exactly_once_with_workers")
def exactly_once_with_workers(sub, device: str, spec) -> str:
    for n_shards in (3, 1):
        shards = _shards(sub, f"tar-24x{n_shards}", 24, n_shards)
        _tar_pass(sub, shards, 2, f"num_workers=2, {n_shards} shard{'s' * (n_shards > 1)}")
    return "num_workers=2: every key exactly once, over 3 shards and over 1"


@check("TarImageDataset", "exactly_once_grid")
def exactly_once_grid(sub, device: str, spec) -> str:
    for n_shards in (1, 2, 3, 5):
        shards = _shards(sub, f"tar-30x{n_shards}", 30, n_shards, seed=5)
        for workers in (0, 1, 2, 3):
            _tar_pass(sub, shards, workers, f"num_workers={workers}, {n_shards} shards")
    return "every key exactly once for num_workers in {0, 1, 2, 3} x shards in {1, 2, 3, 5}"


@check("TarImageDataset", "exactly_once_distributed")
def exactly_once_distributed(sub, device: str, spec) -> str:
    shards = _shards(sub, "tar-36x3", 36, 3, seed=6)
    r = sub.call(probe_distributed, shards.paths, 2, 2, spec.timeout_s * 0.8)
    per_rank = []
    for rank, (status, value) in enumerate(r["ranks"]):
        if status == "setup":
            raise Skip(f"inconclusive: the grader could not start a gloo process group here ({value})")
        if status != "ok":
            raise StudentError(f"rank {rank} of 2 (2 workers each): {value}")
        per_rank.append(value)
    what = "2 ranks (gloo, 127.0.0.1) x 2 workers, 3 shards"
    both = set(per_rank[0]) & set(per_rank[1])
    if both and len(both) >= len(shards.keys) // 2:
        raise Fail(f"{what}: both ranks yielded the same {len(both)} keys (e.g. {sorted(both)[0]!r}). Each rank "
                   "runs its own dataset: split by torch.distributed.get_rank() and get_world_size() as well as "
                   "by worker, when a process group is initialized.")
    for keys in per_rank:
        duplicated = [k for k, c in collections.Counter(keys).items() if c > 1]
        if duplicated:
            raise Fail(f"{what}: within one rank {len(duplicated)} keys came twice (e.g. {duplicated[0]!r}). "
                       + DUPLICATES)
    _keys_once(per_rank[0] + per_rank[1], shards, what)
    return f"{what}: the ranks' keys are disjoint and together complete ({len(per_rank[0])} + {len(per_rank[1])})"


@check("TarImageDataset", "pixels_all_formats")
def pixels_all_formats(sub, device: str, spec) -> str:
    for ext in (".jpg", ".bmp", ".png"):
        shards = _shards(sub, f"tar-{ext[1:]}", 6, 2, ext=ext, size=(48, 80), seed=7)
        _tar_pass(sub, shards, 0, f"{ext} members", pixels=True)
    return "JPEG, BMP and PNG members equal OpenCV's decoding of their bytes, in RGB, [3, H, W]"


@check("TarImageDataset", "shuffle_per_epoch")
def shuffle_per_epoch(sub, device: str, spec) -> str:
    shards = _shards(sub, "tar-48x8", 48, 8, seed=8)  # 8! shard orders: a chance collision is negligible
    for workers in (0, 2):
        what = f"shuffle=True, num_workers={workers}"
        r = sub.call(probe_tar_keys, shards.paths, workers, True, 3, [0, 1, 0])
        again = sub.call(probe_tar_keys, shards.paths, workers, True, 3, [1])["keys"][0]
        other_seed = sub.call(probe_tar_keys, shards.paths, workers, True, 4, [0])["keys"][0]
        first, second, first_again = r["keys"]
        for keys, label in ((first, "epoch 0"), (second, "epoch 1")):
            _keys_once(keys, shards, f"{what}, {label}")
        if first == shards.keys or first == sorted(first) and second == sorted(second):
            raise Fail(f"{what}: the keys came in sorted order: shuffle=True must change the order.")
        if first != first_again or second != again:
            raise Fail(f"{what}: set_epoch(e) with the same seed gave two different orders. The order must be "
                       "a function of (seed, epoch) alone: seed a generator with both, e.g. "
                       "np.random.default_rng([seed, epoch]) or torch.Generator().manual_seed(...), never the "
                       "global random state.")
        if first == second:
            raise Fail(f"{what}: epochs 0 and 1 came in the same order. Seed the shuffle with (seed, epoch), so "
                       "that set_epoch changes it; otherwise every epoch repeats the first one's order.")
        if other_seed == first:
            raise Fail(f"{what}: seeds 3 and 4 gave the same order in epoch 0: use `seed`.")
    plain = sub.call(probe_tar_keys, shards.paths, 0, False, 0, [0, 5])["keys"]
    for keys in plain:
        _keys_once(keys, shards, "shuffle=False after set_epoch")
    return "deterministic per (seed, epoch), different across epochs and seeds, same keys (0 and 2 workers)"


@check("TarImageDataset", "missing_shard")
def missing_shard(sub, device: str, spec) -> str:
    shards = _shards(sub, "tar-20x2", 20, 2)
    missing = Path(sub.data_dir) / "tar-20x2" / "shard-00007.tar"
    r = sub.call(probe_raises, "tar", [[*shards.paths, str(missing)], False, 0])
    if r["raised"] is None:
        raise Fail(f"a list of shards naming {missing.name}, which does not exist, raised nothing (building the "
                   "dataset and iterating it in this process). Raise FileNotFoundError with its path.")
    if "FileNotFoundError" not in r["bases"]:
        raise Fail(f"a missing shard raised {r['raised']}: {r['message'][:200]!r}; raise FileNotFoundError (an "
                   "OSError) so that callers can tell a missing file from a broken one.")
    if not _names(r["message"], missing):
        raise Fail(f"a missing shard raised FileNotFoundError without its path: {r['message'][:200]!r}")
    return "a missing shard raises FileNotFoundError naming it"


@check("TarImageDataset", "corrupt_member")
def corrupt_member(sub, device: str, spec) -> str:
    import io
    import tarfile

    folder = Path(sub.data_dir) / "tar-corrupt"
    shard = folder / "shard-00000.tar"
    if not folder.exists():
        folder.mkdir()
        images = _images(3, 64, 9)
        with tarfile.open(shard, "w") as tar:
            for name, data in [("img-00000.png", encode(images["img-00000"])), ("broken-01.png", b"\x89PNG junk"),
                               ("img-00002.png", encode(images["img-00002"]))]:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    r = sub.call(probe_raises, "tar", [[str(shard)], False, 0])
    if r["raised"] is None:
        raise Fail(f"{shard.name} holds broken-01.png, which is not an image, and iterating raised nothing. "
                   "cv2.imdecode returns None when it cannot decode: check for None and raise.")
    if not (_names(r["message"], shard) and "broken-01" in r["message"]):
        raise Fail(f"a member that does not decode raised {r['raised']}: {r['message'][:200]!r}; the message must "
                   f"name the shard ({shard.name}) and the member (broken-01.png), or nobody can find it.")
    return f"a member that does not decode raises {r['raised']} naming the shard and the member"


@check("TarImageDataset", "streams_members")
def streams_members(sub, device: str, spec) -> str:
    if isinstance(sub, InProcessRunner):
        raise Skip("inconclusive: memory is measured only when grading in a separate process")
    shards = _shards(sub, "tar-big", 128, 1, ext=".bmp", size=(512, 1024), seed=10)
    size = Path(shards.paths[0]).stat().st_size
    r = sub.call(probe_tar_count, shards.paths, 0)
    if r["count"] != len(shards.keys):
        raise Fail(f"iterating one shard of {len(shards.keys)} members yielded {r['count']} items")
    rise = max(0, sub.peak_rss - _before(sub))
    limit = spec.threshold("max_fraction_of_shard", device)
    fraction = rise / size
    message = (f"iterating a {size / MIB:.0f} MiB shard raised the memory of your process by {rise / MIB:.1f} MiB "
               f"({fraction:.2f} of the shard; limit {limit:g})")
    if fraction > limit:
        raise Fail(f"{message}. Stream the members: tarfile.open(path, mode='r|') (or 'r:') and "
                   "tar.extractfile(member).read() one member at a time; never f.read() the whole shard or keep "
                   "every member.", measured=fraction)
    return Measured(message, fraction)


def _before(sub) -> int:
    return getattr(sub, "rss_before", 0) or 0


def _epoch_cpu(sub, paths: list[str], workers: int, n: int) -> tuple[float, float, list[float]]:
    """Best of 2 epochs after a warm one (persistent workers): (the CPU seconds that did the reading: the
    main process's with num_workers=0, the workers' together otherwise; wall seconds; per worker CPU)."""
    first = sub.prepare(probe_tar_epochs, paths, workers)
    if first["count"] != n:
        raise Fail(f"num_workers={workers}: {first['count']} items for {n} images")
    best = (math.inf, math.inf, [])
    try:
        for _ in range(2):
            before = sub.cpu_by_process()
            reply, wall = sub.go(False)
            after = sub.cpu_by_process()
            if reply["count"] != n:
                raise Fail(f"num_workers={workers}: {reply['count']} items for {n} images")
            main = next(iter(after))
            if workers == 0:
                cpu, per_worker = after[main] - before.get(main, 0.0), []
            else:
                per_worker = [after[pid] - before[pid] for pid in after if pid != main and pid in before]
                cpu = sum(per_worker)
            if cpu < best[0]:
                best = (cpu, wall, per_worker)
    finally:
        sub.go(True)
    return best


@check("TarImageDataset", "workers_share_decoding")
def workers_share_decoding(sub, device: str, spec) -> str:
    if isinstance(sub, InProcessRunner):
        raise Skip("inconclusive: CPU time is measured only when grading in a separate process")
    shards = _shards(sub, "tar-decode", 128, 4, size=384, seed=11)
    n = len(shards.keys)
    cpu0, wall0, _ = _epoch_cpu(sub, shards.paths, 0, n)
    cpu2, wall2, per_worker = _epoch_cpu(sub, shards.paths, 2, n)
    ratio = cpu2 / max(cpu0, 0.05)
    limit = spec.threshold("max_cpu_ratio", device)
    shares = ", ".join(f"{c:.2f}" for c in per_worker)
    message = (f"reading {n} PNG images, the 2 workers used {cpu2:.2f} CPU s ({shares}) where num_workers=0 used "
               f"{cpu0:.2f}: {ratio:.2f}x (limit {limit:g}x); {n / wall0:.0f} images/s with 0 workers, "
               f"{n / wall2:.0f} with 2 on this machine right now")
    if ratio > limit:
        raise Fail(f"{message}. Each worker seems to read and decode more than its share (decoding every image, "
                   "then dropping those of other workers?). Decide which members are yours before decoding.",
                   measured=ratio)
    return Measured(message, ratio)


@check("TarImageDataset", "streams_on_slow_storage")
def streams_on_slow_storage(sub, device: str, spec) -> str:
    from grader.judging.opens import count_opens

    images = _images(192, 64, 12)
    folder = Path(sub.data_dir) / "slow-files"
    if not folder.exists():
        write_image_dir(images, folder)
    shards = _shards(sub, "slow-shards", 192, 4, seed=12)
    latency = spec.threshold("open_latency_ms", device) / 1000
    timings = {}
    for label, run, watched in (
            ("files", lambda: sub.call(probe_directory_count, str(folder), "*.png"), folder),
            ("shards", lambda: sub.call(probe_tar_count, shards.paths, 0), Path(shards.paths[0]).parent)):
        (r, wall), opens = count_opens(watched, run)
        if r["count"] != len(images):
            raise Fail(f"reading the {label}: {r['count']} items for {len(images)} images")
        timings[label] = (wall + opens * latency, opens, wall)
    speedup = timings["files"][0] / timings["shards"][0]
    limit = spec.threshold("min_speedup", device)
    message = (f"with {latency * 1000:g} ms per file open (a network file system, simulated): one file per image "
               f"{timings['files'][0]:.2f} s ({timings['files'][1]} opens), your shards {timings['shards'][0]:.2f} s "
               f"({timings['shards'][1]} opens): {speedup:.1f}x faster (need {limit:g}x). On a local warm disk "
               f"they took {timings['files'][2]:.2f} s and {timings['shards'][2]:.2f} s.")
    if speedup < limit:
        raise Fail(f"{message} Open each shard once and stream its members; reopening it (or extracting "
                   "members to files) per image pays the latency per image again.", measured=speedup)
    return Measured(message, speedup)
