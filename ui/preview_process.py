"""Making a preview in a renderer process, so that hostile evidence cannot reach the window.

Image decoders and PDFium are attack surface, and evidence comes from adversaries. The
window therefore decodes nothing itself: `render` starts `ui.preview_worker` for each
preview, writes the item's bytes (already decrypted in memory, never written to disk) to
its stdin, and reads pixels or text back from its stdout (`ui.preview_protocol`). The
renderer gets no key, no workspace path and no VALISE_* variable (its environment is built
from nothing, `child_environment`), and no descriptor but its three pipes.

The call blocks its caller, a worker thread (the evidence tab runs it on its task runner),
never the GUI thread. A renderer that crashes, exits with an error, takes longer than
TIMEOUT_SECONDS, writes more than a reply can hold or a reply that breaks the protocol is
killed (with anything it started in its process group) and reaped, and `render` raises
`PreviewerFailed`: the tab shows a sentence (`failure_sentence`) and the window stays up.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from PySide6.QtGui import QImage

from ui.preview_protocol import (
    BYTES_PER_PIXEL,
    Kind,
    MalformedReply,
    Reply,
    Status,
    encode_request,
    max_reply_size,
    parse_reply,
)
from ui.preview_worker import PREVIEW_WORKER_ARG

TIMEOUT_SECONDS = 10.0  # wall clock, from start to exit; the renderer also has RLIMIT_CPU
_READ_CHUNK = 1 << 20


class Failure(Enum):
    """Why there is no preview although the kind of file has one."""

    NOT_STARTED = "not started"
    TIMED_OUT = "timed out"
    STOPPED = "stopped"  # a signal (a crash) or an exit status other than 0
    MALFORMED = "malformed reply"


class PreviewerFailed(Exception):
    """The renderer gave no usable reply; `failure` says how (its words: failure_sentence)."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.value)
        self.failure = failure


_AFTER = (
    " (the file may be damaged, or made to attack a viewer). The evidence itself is"
    " unchanged; use Save a copy to open it in another program."
)


def failure_sentence(failure: Failure) -> str:
    """What the preview pane says instead of a preview."""
    if failure == Failure.NOT_STARTED:
        return "No preview: the previewer could not be started in this installation."
    if failure == Failure.TIMED_OUT:
        return (
            "This file could not be previewed: the previewer took more than"
            f" {TIMEOUT_SECONDS:g} seconds and was stopped{_AFTER}"
        )
    return f"This file could not be previewed: the previewer stopped{_AFTER}"


@dataclass(frozen=True)
class Command:
    """How to start a renderer: its arguments and working folder."""

    argv: Sequence[str]
    cwd: Path


def worker_command() -> Command:
    """The renderer of this installation: the packaged program told to be one (it checks
    for PREVIEW_WORKER_ARG before anything else, `desktop/frozen_entry.py`), or this
    Python running `ui.preview_worker` from the folder that holds the `ui` package (so no
    PYTHONPATH is needed; -s: no user site-packages, -B: no .pyc written)."""
    if getattr(sys, "frozen", False):
        return Command([sys.executable, PREVIEW_WORKER_ARG], Path(sys.executable).parent)
    root = Path(__file__).resolve().parents[1]
    return Command([sys.executable, "-s", "-B", "-m", "ui.preview_worker"], root)


def child_environment() -> dict[str, str]:
    """The renderer's whole environment: offscreen Qt and a UTF-8 locale, nothing of ours
    (no VALISE_*, no HOME, no DISPLAY). Windows' Python needs SYSTEMROOT to start."""
    env = {"QT_QPA_PLATFORM": "offscreen", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    if sys.platform == "win32" and "SYSTEMROOT" in os.environ:  # pragma: no cover
        env["SYSTEMROOT"] = os.environ["SYSTEMROOT"]
    return env


def start(command: Command | None = None) -> subprocess.Popen[bytes]:
    """A renderer waiting for its request on stdin (tests look at it before sending one).
    In a session of its own, so that killing its group also ends anything it started."""
    command = command or worker_command()
    return subprocess.Popen(
        list(command.argv),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # what a decoder says about hostile bytes is not logged
        env=child_environment(),
        cwd=command.cwd,
        close_fds=True,
        start_new_session=True,
    )


def _kill(process: subprocess.Popen[bytes]) -> None:
    """End the renderer and its process group, and reap it (no zombie left). Only a
    renderer not reaped yet is signalled: until then its pid (and group id) cannot be
    another process's."""
    if process.returncode is None:
        with contextlib.suppress(OSError):
            if sys.platform != "win32":
                os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            process.kill()
    process.wait()


def exchange(
    process: subprocess.Popen[bytes],
    kind: Kind,
    edge: int,
    data: bytes,
    timeout: float | None = None,
) -> Reply:
    """Send one request to a started renderer and return its checked reply; the renderer
    has exited (or was killed) when this returns. PreviewerFailed when there is no reply."""
    seconds = TIMEOUT_SECONDS if timeout is None else timeout
    deadline = time.monotonic() + seconds
    header = encode_request(kind, edge, data)
    limit = max_reply_size(kind, edge, len(data))
    stdin, stdout = process.stdin, process.stdout
    assert stdin is not None and stdout is not None
    received = bytearray()
    overflow = threading.Event()

    def feed() -> None:
        try:
            stdin.write(header)
            stdin.write(data)
            stdin.close()
        except (OSError, ValueError):  # it stopped reading (or was killed): its reply says
            pass

    def drain() -> None:
        while True:
            try:
                chunk = os.read(stdout.fileno(), _READ_CHUNK)
            except OSError:
                return
            if not chunk:
                return
            received.extend(chunk)
            if len(received) > limit:  # more than any reply: stop reading, it is killed
                overflow.set()
                return

    writer = threading.Thread(target=feed, name="preview request", daemon=True)
    reader = threading.Thread(target=drain, name="preview reply", daemon=True)
    writer.start()
    reader.start()
    failure: Failure | None = None
    reader.join(max(0.0, deadline - time.monotonic()))
    if reader.is_alive():
        failure = Failure.TIMED_OUT
    elif overflow.is_set():
        failure = Failure.MALFORMED
    else:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            failure = Failure.TIMED_OUT
    if failure is not None:
        _kill(process)
    writer.join(1.0)
    reader.join(1.0)
    with contextlib.suppress(OSError):
        stdout.close()
    if failure is not None:
        raise PreviewerFailed(failure)
    if process.returncode != 0:
        raise PreviewerFailed(Failure.STOPPED)
    try:
        return parse_reply(bytes(received), kind, edge, len(data))
    except MalformedReply:
        raise PreviewerFailed(Failure.MALFORMED) from None


# One renderer started ahead, waiting for its request with Qt already loaded: a preview
# then costs no process start (about a quarter of a second here, bench/preview.py). It
# holds nothing until it is used, and each is used once. `stop_spare` ends it (at exit,
# and before the lock replaces this process: `desktop.relock`).
_spare_lock = threading.Lock()
_spare: tuple[Command, subprocess.Popen[bytes]] | None = None


def _take_spare(command: Command) -> subprocess.Popen[bytes]:
    """The spare renderer when it is one of `command` and still waiting, else a new one."""
    global _spare
    with _spare_lock:
        spare, _spare = _spare, None
    if spare is not None:
        if spare[0] == command and spare[1].poll() is None:
            return spare[1]
        _kill(spare[1])
    return start(command)


def _keep_one_ready(command: Command) -> None:
    global _spare
    with _spare_lock:
        if _spare is None:
            with contextlib.suppress(OSError):
                _spare = (command, start(command))


def stop_spare() -> None:
    """End the renderer started ahead, if any (it has seen no evidence)."""
    global _spare
    with _spare_lock:
        spare, _spare = _spare, None
    if spare is not None:
        _kill(spare[1])


atexit.register(stop_spare)


def render(
    kind: Kind,
    edge: int,
    data: bytes,
    *,
    timeout: float | None = None,
    command: Command | None = None,
) -> Reply:
    """One preview made by a renderer used for nothing else (see the module docstring);
    PreviewerFailed when it could not be started or gave no usable reply. With the
    installation's own renderer (`command` None), the next one is started ahead."""
    own = command is None
    command = command or worker_command()
    try:
        process = _take_spare(command) if own else start(command)
    except OSError:
        raise PreviewerFailed(Failure.NOT_STARTED) from None
    try:
        return exchange(process, kind, edge, data, timeout)
    finally:
        if process.returncode is None:  # an exception of our own on the way: no orphan
            _kill(process)
        if own:
            _keep_one_ready(command)


def image_of(reply: Reply) -> QImage:
    """The picture of a checked PIXELS reply, as an image that owns its pixels."""
    if reply.status != Status.PIXELS:
        raise ValueError("the reply holds no picture")
    image = QImage(
        reply.payload,
        reply.width,
        reply.height,
        reply.width * BYTES_PER_PIXEL,
        QImage.Format.Format_ARGB32,
    )
    return image.copy()  # detached from the reply's bytes
