"""A preview renderer that misbehaves on purpose, as a subverted one would (tests only).

Started by tests/ui/test_preview_isolation.py in place of `ui.preview_worker`, with the way
to misbehave as its one argument (the window gives the renderer no environment to read).
"""

from __future__ import annotations

import os
import signal
import sys
import time

from ui.preview_protocol import REPLY, REPLY_MAGIC, Status, encode_reply
from ui.preview_worker import read_request


def _reply(data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(1, view) :]


def main(mode: str) -> int:
    """Do what `mode` says; most modes read the request first, as a real renderer would."""
    if mode == "hang":  # never reads, never answers
        time.sleep(600)
        return 0
    if mode == "fork-hang":  # a child of its own keeps the reply pipe open
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
        time.sleep(600)
        return 0
    _kind, edge, _data = read_request(0)
    if mode == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if mode == "exit1":
        _reply(encode_reply(Status.UNREADABLE))
        return 1
    if mode == "flood":  # writes on and on: the window must not buffer it all
        chunk = b"\xff" * (1 << 20)
        while True:
            _reply(chunk)
    if mode == "too-wide":  # a picture wider than the edge asked for, bytes to match
        width = edge + 1
        _reply(
            encode_reply(
                Status.PIXELS, width=width, height=1, a=width, b=1, payload=b"\0" * width * 4
            )
        )
        return 0
    if mode == "short-pixels":  # the header's size needs more pixel bytes than are sent
        _reply(encode_reply(Status.PIXELS, width=10, height=10, a=10, b=10, payload=b"\0" * 40))
        return 0
    if mode == "lying-length":  # the length field promises more than follows
        _reply(REPLY.pack(REPLY_MAGIC, Status.PIXELS, 1, 1, 1, 1, 1000) + b"\0" * 4)
        return 0
    if mode == "trailing":  # a good reply, then more
        _reply(encode_reply(Status.PIXELS, width=1, height=1, a=1, b=1, payload=b"\0" * 4) + b"x")
        return 0
    if mode == "wrong-status":  # text for an image
        _reply(encode_reply(Status.TEXT, payload=b"hello"))
        return 0
    if mode == "good":  # the control: one red pixel, a well-formed reply
        _reply(encode_reply(Status.PIXELS, width=1, height=1, a=1, b=1, payload=b"\0\0\xff\xff"))
        return 0
    return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
