"""Count the files opened in a folder while something runs, from outside the process that opens them.

inotify (through inotify_simple) reports every open of a file in the watched folder, by any process,
OpenCV's C++ reads included. lesson 6 uses the count to simulate a network file system, where each open
costs a round trip. inotify merges identical events that follow each other unread, so closes are watched
too: open, close, open of one file stays three events, and each open is counted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class TooManyEvents(RuntimeError):
    """The kernel's event queue overflowed: the count would be too low."""


def count_opens(folder: Path, fn: Callable[[], T]) -> tuple[tuple[T, float], int]:
    """((fn(), its wall time in seconds), the number of opens of files directly in `folder` meanwhile)."""
    from inotify_simple import INotify, flags

    with INotify() as watcher:
        watcher.add_watch(str(folder), flags.OPEN | flags.CLOSE_WRITE | flags.CLOSE_NOWRITE)
        start = time.perf_counter()
        value = fn()
        wall = time.perf_counter() - start
        opens = 0
        while True:
            events = watcher.read(timeout=0)
            if not events:
                break
            if any(e.mask & flags.Q_OVERFLOW for e in events):
                raise TooManyEvents(f"more file events in {folder} than inotify could queue")
            opens += sum(1 for e in events if e.mask & flags.OPEN and e.name and not e.mask & flags.ISDIR)
    return (value, wall), opens
