"""Images for lesson 6, and the two on-disk layouts it compares: one file per image, and tar shards.

    images = sample_images(200, size=64)             # key -> H x W x 3 uint8 RGB, crops of real photos
    paths = write_shards(images, "shards", 4)       # shards/shard-00000.tar ... (sorted keys, split in order)
    files = write_image_dir(images, "images")        # images/<key>.png

The photos are scikit-learn's two bundled sample images (china.jpg, flower.jpg): nothing is downloaded.
Files are encoded with OpenCV, which stores BGR: an RGB array is converted before encoding, so that
`cv2.imread(path)[..., ::-1]` gives back the array (exactly for .png/.bmp, approximately for .jpg).
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np


def _photos() -> list[np.ndarray]:
    import importlib.util

    import cv2

    spec = importlib.util.find_spec("sklearn")  # located, not imported (importing it takes a second)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("scikit-learn is not installed; its bundled sample photos are the images")
    folder = Path(spec.submodule_search_locations[0]) / "datasets" / "images"
    photos = []
    for name in ("china.jpg", "flower.jpg"):
        bgr = cv2.imread(str(folder / name), cv2.IMREAD_COLOR)
        if bgr is None:
            raise FileNotFoundError(f"scikit-learn's sample image {folder / name} could not be read")
        photos.append(np.ascontiguousarray(bgr[..., ::-1]))
    return photos


def sample_images(n: int, size: int | tuple[int, int] = 64, seed: int = 0) -> dict[str, np.ndarray]:
    """`n` RGB crops (uint8, size x size x 3, or height x width x 3) of real photos, keyed "img-00000"...

    Crops are drawn at random positions (deterministic for a seed), some mirrored, so that no two
    images are equal and no image is symmetric under a channel swap (BGR/RGB mistakes show).
    """
    height, width = (size, size) if isinstance(size, int) else size
    photos = _photos()
    rng = np.random.default_rng(seed)
    images = {}
    for i in range(n):
        photo = photos[i % len(photos)]
        if height > photo.shape[0] or width > photo.shape[1]:  # larger than the photo: tile it
            reps = (-(-height // photo.shape[0]), -(-width // photo.shape[1]), 1)
            photo = np.tile(photo, reps)
        top = int(rng.integers(0, photo.shape[0] - height + 1))
        left = int(rng.integers(0, photo.shape[1] - width + 1))
        crop = photo[top:top + height, left:left + width]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        images[f"img-{i:05d}"] = np.ascontiguousarray(crop)
    return images


def encode(image: np.ndarray, ext: str = ".png") -> bytes:
    """`image` (H x W x 3 uint8 RGB) encoded by OpenCV in the format of `ext`."""
    import cv2

    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an H x W x 3 uint8 RGB array, got {image.dtype} {list(image.shape)}")
    ok, buffer = cv2.imencode(ext, np.ascontiguousarray(image[..., ::-1]))
    if not ok:
        raise ValueError(f"OpenCV could not encode an image as {ext}")
    return buffer.tobytes()


def write_shards(images: Mapping[str, np.ndarray], out_dir: str | Path, n_shards: int,
                 ext: str = ".png") -> list[Path]:
    """Write `images` (key -> H x W x 3 uint8 RGB) into `n_shards` uncompressed tar files in `out_dir`.

    Keys are sorted and split into contiguous, nearly equal runs: shard i holds keys[i*n//S:(i+1)*n//S]
    as members named "<key><ext>". A shard may be empty when there are more shards than images.
    Returns the shard paths, sorted (shard-00000.tar, shard-00001.tar, ...).
    """
    if n_shards < 1:
        raise ValueError(f"n_shards must be at least 1, got {n_shards}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    keys = sorted(images)
    for key in keys:
        if not key or "/" in key or key.startswith("."):
            raise ValueError(f"a key must be a plain file name without its extension, got {key!r}")
    paths = []
    for i in range(n_shards):
        path = out / f"shard-{i:05d}.tar"
        with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
            for key in keys[i * len(keys) // n_shards:(i + 1) * len(keys) // n_shards]:
                data = encode(images[key], ext)
                info = tarfile.TarInfo(f"{key}{ext}")
                info.size = len(data)
                info.mtime = 0
                tar.addfile(info, io.BytesIO(data))
        paths.append(path)
    return paths


def write_image_dir(images: Mapping[str, np.ndarray], out_dir: str | Path, ext: str = ".png") -> list[Path]:
    """Write each image to `out_dir/<key><ext>`; returns the paths, sorted."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for key in sorted(images):
        path = out / f"{key}{ext}"
        path.write_bytes(encode(images[key], ext))
        paths.append(path)
    return paths
