"""Lesson 6 probes (child side): build the student's datasets, iterate them through DataLoaders (with
workers, and under a 2-rank gloo process group), and return plain data: keys, images, errors.

Nothing here judges. Keys come back as str (anything else is reported by type), images as plain uint8
tensors checked in the parent. Files are the judge's: it writes them in a folder the child may only read.
"""

from __future__ import annotations

import hashlib
import os
import socket
from typing import Any

import torch

from grader.engine.checks import StudentError
from grader.engine.submission import describe_exception
from grader.probes import plain_tensor, probe


def _loader(dataset: Any, num_workers: int, persistent: bool = False) -> torch.utils.data.DataLoader:
    # batch_size=None: samples one by one, as the dataset yields them (images differ in size)
    return torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=num_workers,
                                       multiprocessing_context="fork" if num_workers else None,
                                       persistent_workers=persistent and num_workers > 0)


def _items(dataset: Any, num_workers: int, loader: Any = None):
    """The DataLoader's items; an error raised in a worker is re-raised with the worker's own message (the
    DataLoader's says only "Caught X in DataLoader worker process N"), after the workers are shut down."""
    iterator = iter(loader if loader is not None else _loader(dataset, num_workers))
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            return
        except Exception as exc:
            _shut_down(iterator)
            text = str(exc)
            if not text.startswith("Caught "):
                raise
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            where = [line for line in lines if line.startswith('File "<') and not line.startswith('File "<frozen')]
            place = ""
            if where:
                label, _, line_no = where[-1].partition('", line ')
                label = label.removeprefix("File ").strip('"<>')
                place = f" (at {label}, line {line_no.split(',')[0]})"
            process = lines[0].removeprefix("Caught ").split(" in ", 1)[-1].rstrip(".")
            raise StudentError(f"your code raised, in {process}: {lines[-1]}{place}") from None
        yield item


def _shut_down(iterator: Any) -> None:
    """Stop a failed DataLoader iterator's workers now: left registered, they would make torch's SIGCHLD
    handler raise later, in the middle of the next request."""
    shutdown = getattr(iterator, "_shutdown_workers", None)
    if callable(shutdown):
        shutdown()


def _key(value: Any) -> str:
    if type(value) is not str:
        raise StudentError(f"a key must be a str (the member's name without its extension), got "
                           f"{type(value).__name__} {value!r:.60}")
    return value


def _image(value: Any, what: str) -> torch.Tensor:
    image = plain_tensor(value, what)
    if image.dtype != torch.uint8 or image.dim() != 3 or image.shape[0] != 3:
        raise StudentError(f"{what} must be a torch.uint8 tensor of shape [3, H, W] (RGB), got "
                           f"{image.dtype} {list(image.shape)}")
    return image


def _digest(image: torch.Tensor) -> str:
    return hashlib.sha1(image.contiguous().numpy().tobytes()).hexdigest()[:16] + f":{list(image.shape)}"


def _pair(item: Any) -> tuple[str, torch.Tensor]:
    if not isinstance(item, (tuple, list)) or len(item) != 2:
        raise StudentError(f"TarImageDataset must yield (key, image) pairs, got {type(item).__name__}")
    key = _key(item[0])
    return key, _image(item[1], f"the image of key {key!r}")


def _tar_dataset(sub, paths: list[str], shuffle: bool, seed: int) -> Any:
    TarImageDataset = sub.get("TarImageDataset")
    dataset = TarImageDataset(list(paths), shuffle=shuffle, seed=seed)
    if not isinstance(dataset, torch.utils.data.IterableDataset):
        raise StudentError(f"TarImageDataset must be a torch.utils.data.IterableDataset, got "
                           f"{type(dataset).__mro__[1].__name__} as its base")
    return dataset


def _epoch(dataset: Any, epoch: int | None) -> None:
    if epoch is not None:
        set_epoch = getattr(dataset, "set_epoch", None)
        if not callable(set_epoch):
            raise StudentError("TarImageDataset has no set_epoch(epoch) method")
        set_epoch(epoch)


@probe("lesson6")
def probe_tar_keys(sub, paths: list[str], num_workers: int, shuffle: bool = False, seed: int = 0,
                   epochs: list | None = None, images: bool = False) -> dict:
    """One DataLoader pass per entry of `epochs` (None: no set_epoch call) over one dataset: the keys in
    the order they came, and each image's digest (or the images themselves when `images`)."""
    dataset = _tar_dataset(sub, paths, shuffle, seed)
    out: dict[str, Any] = {"keys": [], "digests": [], "images": {}}
    for epoch in epochs if epochs is not None else [None]:
        _epoch(dataset, epoch)
        keys, digests = [], []
        for item in _items(dataset, num_workers):
            key, image = _pair(item)
            keys.append(key)
            digests.append(_digest(image))
            if images:
                out["images"][key] = image.clone()
        out["keys"].append(keys)
        out["digests"].append(digests)
    return out


@probe("lesson6")
def probe_tar_count(sub, paths: list[str], num_workers: int) -> dict:
    """Iterate once, keeping nothing but a count and a checksum (the judge times it and reads memory)."""
    dataset = _tar_dataset(sub, paths, False, 0)
    count, total = 0, 0
    for item in _items(dataset, num_workers):
        _, image = _pair(item)
        count += 1
        total += int(image[:, ::16, ::16].sum())
    return {"count": count, "checksum": total}


@probe("lesson6")
def probe_tar_epochs(sub, paths: list[str], num_workers: int) -> tuple[dict, Any]:
    """Timed in two steps: prepare builds a DataLoader with persistent workers and reads one epoch (their
    start is paid here); each `go()` reads one more epoch. Between them the judge reads each process's CPU
    time: the workers stay alive, so their own share is visible."""
    dataset = _tar_dataset(sub, paths, False, 0)
    loader = _loader(dataset, num_workers, persistent=True)

    def epoch(stop: bool = False) -> dict:
        """One more epoch; or, with `stop`, only stop the persistent workers."""
        if stop:
            if getattr(loader, "_iterator", None) is not None:
                _shut_down(loader._iterator)
                loader._iterator = None
            return {"count": 0, "checksum": 0}
        count, total = 0, 0
        for item in _items(dataset, num_workers, loader):
            _, image = _pair(item)
            count += 1
            total += int(image[:, ::16, ::16].sum())
        return {"count": count, "checksum": total}

    return epoch(), epoch


@probe("lesson6")
def probe_directory(sub, root: str, pattern: str | None, indices: list[int] | None = None,
                    num_workers: int = 0) -> dict:
    """len() and the images at `indices` (all when None), read through a DataLoader."""
    ImageDirectoryDataset = sub.get("ImageDirectoryDataset")
    dataset = ImageDirectoryDataset(root) if pattern is None else ImageDirectoryDataset(root, pattern=pattern)
    if not isinstance(dataset, torch.utils.data.Dataset) or isinstance(dataset, torch.utils.data.IterableDataset):
        raise StudentError("ImageDirectoryDataset must be a map-style torch.utils.data.Dataset "
                           "(with __len__ and __getitem__), not an IterableDataset")
    length = len(dataset)
    if type(length) is not int:
        raise StudentError(f"len(ImageDirectoryDataset(...)) must be an int, got {type(length).__name__}")
    wanted = list(range(length)) if indices is None else list(indices)
    subset = torch.utils.data.Subset(dataset, wanted)
    images = [_image(x, f"ImageDirectoryDataset[{i}]").clone() for i, x in zip(wanted, _items(subset, num_workers))]
    return {"len": length, "images": images}


@probe("lesson6")
def probe_directory_count(sub, root: str, pattern: str) -> dict:
    ImageDirectoryDataset = sub.get("ImageDirectoryDataset")
    dataset = ImageDirectoryDataset(root, pattern=pattern)
    count, total = 0, 0
    for image in _items(dataset, 0):
        image = _image(image, "an image")
        count += 1
        total += int(image[:, ::16, ::16].sum())
    return {"count": count, "checksum": total}


@probe("lesson6")
def probe_raises(sub, what: str, args: list, index: int | None = None) -> dict:
    """Build `what` ("tar" or "directory") from `args` and read it (item `index`, or iterate the tar one
    in this process): {"raised": None} when nothing raised, else the exception's type and message."""
    try:
        if what == "tar":
            dataset = _tar_dataset(sub, *args)
            for item in dataset:
                _pair(item)
        else:
            dataset = sub.get("ImageDirectoryDataset")(*args)
            dataset[index]
    except StudentError:
        raise
    except Exception as exc:  # noqa: BLE001 - the error is the answer here
        return {"raised": type(exc).__name__, "bases": [c.__name__ for c in type(exc).__mro__],
                "message": str(exc)[:2000], "where": describe_exception(exc)}
    return {"raised": None}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(sub, rank: int, world: int, port: int, paths: list[str], num_workers: int, conn: Any) -> None:
    import torch.distributed as dist

    try:
        try:
            dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
        except Exception as exc:  # noqa: BLE001 - the grader's own setup failed: not the student's fault
            conn.send(("setup", f"{type(exc).__name__}: {exc}"))
            return
        try:
            dataset = _tar_dataset(sub, paths, False, 0)
            keys = [_pair(item)[0] for item in _items(dataset, num_workers)]
            conn.send(("ok", keys))
        except StudentError as exc:
            conn.send(("student", str(exc)))
        except Exception as exc:  # noqa: BLE001 - reported to the judge as the student's error
            conn.send(("student", f"your code raised {describe_exception(exc)}"))
        finally:
            dist.destroy_process_group()
    finally:
        conn.close()
        os._exit(0)


@probe("lesson6")
def probe_distributed(sub, paths: list[str], world: int, num_workers: int, timeout_s: float) -> dict:
    """`world` ranks (forked processes) in a gloo process group on 127.0.0.1, each iterating its own
    TarImageDataset(paths) through a DataLoader with `num_workers`: the keys each rank saw."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    port = _free_port()
    pipes, procs = [], []
    for rank in range(world):
        receive, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_rank_main, args=(sub, rank, world, port, paths, num_workers, send))
        proc.start()
        send.close()
        pipes.append(receive)
        procs.append(proc)
    results = []
    try:
        for rank, receive in enumerate(pipes):
            if not receive.poll(timeout_s):
                results.append(("timeout", f"rank {rank} sent nothing within {timeout_s:g} s"))
            else:
                try:
                    results.append(receive.recv())
                except EOFError:
                    results.append(("student", f"rank {rank} exited without an answer (a crash in your code?)"))
    finally:
        for proc in procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join()
    return {"ranks": results}
