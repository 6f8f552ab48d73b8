"""Length-prefixed messages over a Unix socket pair between the judge and its child, with deadlines.

The judge never blocks on the child: a reply that stops half-way, a child that stops reading, or a
header that announces more than the cap are all reported instead of waited on.
"""

from __future__ import annotations

import select
import socket
import struct
import time
from collections.abc import Callable

HEADER = struct.Struct("!Q")


class ChannelError(Exception):
    """The other side closed, timed out or broke the framing."""


class TimedOut(ChannelError):
    pass


class TooLarge(ChannelError):
    pass


def send(sock: socket.socket, payload: bytes, deadline: float | None = None) -> None:
    """Send one message; with a deadline (monotonic seconds) the whole send must finish by then."""
    if deadline is None:
        sock.settimeout(None)
    else:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
    try:
        sock.sendall(HEADER.pack(len(payload)) + payload)
    except TimeoutError:
        raise TimedOut("the other side stopped reading") from None
    except OSError as exc:
        raise ChannelError(f"the other side is gone ({exc})") from None


def recv(sock: socket.socket, *, deadline: float | None = None, max_bytes: int = 1 << 62,
         tick: Callable[[], None] = lambda: None, poll_s: float = 0.05) -> bytes:
    """Receive one message. `tick()` runs between polls (the judge watches the child's memory there)."""
    header = _read(sock, HEADER.size, deadline, tick, poll_s)
    (size,) = HEADER.unpack(header)
    if size > max_bytes:
        raise TooLarge(f"a reply of {size} bytes (the limit is {max_bytes})")
    return _read(sock, size, deadline, tick, poll_s)


def _read(sock: socket.socket, size: int, deadline: float | None, tick: Callable[[], None],
          poll_s: float) -> bytes:
    chunks = bytearray()
    sock.setblocking(False)
    while len(chunks) < size:
        wait = poll_s if deadline is None else min(poll_s, deadline - time.monotonic())
        if deadline is not None and wait <= 0:
            raise TimedOut("no reply in time")
        readable, _, _ = select.select([sock], [], [], wait)
        if not readable:
            tick()
            continue
        try:
            data = sock.recv(min(size - len(chunks), 1 << 20))
        except BlockingIOError:
            continue
        except OSError as exc:
            raise ChannelError(f"the other side is gone ({exc})") from None
        if not data:
            raise ChannelError("the other side closed the connection")
        chunks += data
    return bytes(chunks)
