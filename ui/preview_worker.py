"""The preview renderer: a process of its own that turns one item's bytes into pixels or text.

Started by `ui.preview_process` for each preview (`python -m ui.preview_worker`, or the
packaged program with `PREVIEW_WORKER_ARG`, see `desktop/frozen_entry.py`). It gets no key,
no workspace path and no VALISE_* variable: only the request on its stdin (the protocol is
`ui.preview_protocol`). Before it reads a byte of evidence it limits itself (`harden`), so
that a decoder bug the evidence was made to trigger finds little to take:

* no core file, and non-dumpable (no same-user ptrace or /proc/PID/mem);
* `PR_SET_NO_NEW_PRIVS`: nothing it executes can gain privileges;
* RLIMIT_FSIZE 0: it cannot write a byte to any file (pipes are not files);
* RLIMIT_DATA (not RLIMIT_AS: PDFium reserves ~32 GB of address space it never uses and
  aborts under an address-space limit) and RLIMIT_CPU, so a decompression bomb or a
  decoder loop ends it; the window also kills it after a wall-clock timeout.

Its stdout is moved to a private descriptor and fd 1 pointed at /dev/null, so nothing a
library prints can be mistaken for a reply. Qt runs offscreen and without a QGuiApplication
(QImage and QPdfDocument need none), so no display connection is made.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from ui.preview_protocol import (
    REQUEST,
    Kind,
    MalformedRequest,
    Status,
    decode_request_header,
    encode_reply,
)

if TYPE_CHECKING:  # Qt is imported only when pixels are asked for: text needs none of it
    from PySide6.QtGui import QImage

PREVIEW_WORKER_ARG = "--valise-preview-worker"  # how the packaged program is told to be one
DATA_LIMIT = 1024 * 1024 * 1024  # RLIMIT_DATA: heap and private writable mappings
CPU_SECONDS = 10  # RLIMIT_CPU (soft; the hard limit is one second later)
IMAGE_ALLOCATION_MB = 256  # Qt refuses to decode an image that would need more

_PR_SET_DUMPABLE = 4  # <linux/prctl.h>
_PR_SET_NO_NEW_PRIVS = 38


def harden() -> None:
    """Limit this process before it reads any evidence (see the module docstring). Where a
    call does not exist (not Linux) the limits it would set are skipped."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return
    limits = [
        (resource.RLIMIT_CORE, 0, 0),
        (resource.RLIMIT_FSIZE, 0, 0),
        (resource.RLIMIT_CPU, CPU_SECONDS, CPU_SECONDS + 1),
    ]
    if hasattr(resource, "RLIMIT_DATA"):
        limits.append((resource.RLIMIT_DATA, DATA_LIMIT, DATA_LIMIT))
    linux = sys.platform.startswith("linux")
    for which, soft, hard in limits:
        _, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY:  # only ever lower a limit
            soft, hard = min(soft, current_hard), min(hard, current_hard)
        try:
            resource.setrlimit(which, (soft, hard))
        except (OSError, ValueError):
            if linux:  # where these are known to work, a renderer without them does not run
                raise
    if linux:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
        word = ctypes.c_ulong
        prctl.argtypes = (ctypes.c_int, word, word, word, word)  # unused ones must be 0
        prctl.restype = ctypes.c_int
        if prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) or prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0):
            raise OSError(ctypes.get_errno(), "prctl failed")


def _read_exactly(fd: int, count: int) -> bytes:
    data = bytearray()
    while len(data) < count:
        chunk = os.read(fd, min(count - len(data), 1 << 20))
        if not chunk:
            raise MalformedRequest("the request ended early")
        data += chunk
    return bytes(data)


def read_request(fd: int) -> tuple[Kind, int, bytes]:
    """Kind, edge and bytes of the one request on `fd`."""
    kind, edge, length = decode_request_header(_read_exactly(fd, REQUEST.size))
    return kind, edge, _read_exactly(fd, length)


# -- rendering (also what the window did in its own process before; bench/preview.py) ----


def fit(image: QImage, edge: int) -> QImage:
    """`image` scaled down (smoothly, keeping its shape) to at most `edge` on a side."""
    from PySide6.QtCore import Qt

    if max(image.width(), image.height()) <= edge:
        return image
    return image.scaled(
        edge,
        edge,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )


def render_image(data: bytes, edge: int) -> tuple[QImage, int, int] | None:
    """The decoded image fitted to `edge`, with its own width and height; None when Qt
    cannot decode it (or it would need more than IMAGE_ALLOCATION_MB to)."""
    from PySide6.QtGui import QImage, QImageReader

    QImageReader.setAllocationLimit(IMAGE_ALLOCATION_MB)
    image = QImage.fromData(data)
    if image.isNull():
        return None
    return fit(image, edge), image.width(), image.height()


def render_pdf(data: bytes, edge: int) -> tuple[QImage, int] | None:
    """The first page of a PDF held in memory (a `QBuffer`, never a file), on white
    (PDFium renders pages transparent), with the page count; None when PDFium refuses."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize
    from PySide6.QtGui import QColor, QImage, QPainter
    from PySide6.QtPdf import QPdfDocument

    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    document = QPdfDocument()
    try:
        document.load(buffer)
        if document.status() != QPdfDocument.Status.Ready or document.pageCount() < 1:
            return None
        points = document.pagePointSize(0)
        scale = edge / max(points.width(), points.height(), 1.0)
        size = QSize(
            min(edge, max(1, round(points.width() * scale))),
            min(edge, max(1, round(points.height() * scale))),
        )
        rendered = document.render(0, size)
        if rendered.isNull():
            return None
        page = QImage(rendered.size(), QImage.Format.Format_RGB32)
        page.fill(QColor("white"))
        painter = QPainter(page)
        painter.drawImage(0, 0, rendered)
        painter.end()
        return page, document.pageCount()
    finally:
        document.close()
        buffer.close()


def have_qtpdf() -> bool:
    """Whether this installation has QtPdf (it ships in PySide6-Addons)."""
    try:
        import PySide6.QtPdf  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the installation
        return False
    return True


def pixels(image: QImage) -> tuple[int, int, bytes]:
    """Width, height and ARGB32 rows (no padding: 4 bytes a pixel) of `image`."""
    from PySide6.QtGui import QImage

    argb = image.convertToFormat(QImage.Format.Format_ARGB32)
    width, height = argb.width(), argb.height()
    raw = bytes(argb.constBits())[: argb.sizeInBytes()]
    if argb.bytesPerLine() != width * 4 or len(raw) != width * height * 4:
        raise RuntimeError("unexpected row layout")  # ends the renderer: the window says so
    return width, height, raw


def render(kind: Kind, edge: int, data: bytes) -> bytes:
    """The reply to one request."""
    if kind == Kind.TEXT:
        return encode_reply(Status.TEXT, payload=data.decode("utf-8", "replace").encode())
    if kind == Kind.PDF:
        if not have_qtpdf():
            return encode_reply(Status.NO_PDF)
        page = render_pdf(data, edge)
        if page is None:
            return encode_reply(Status.UNREADABLE)
        width, height, raw = pixels(page[0])
        return encode_reply(Status.PIXELS, width=width, height=height, a=page[1], payload=raw)
    decoded = render_image(data, edge)
    if decoded is None:
        return encode_reply(Status.UNREADABLE)
    width, height, raw = pixels(decoded[0])
    return encode_reply(
        Status.PIXELS, width=width, height=height, a=decoded[1], b=decoded[2], payload=raw
    )


def _preload_qt() -> None:
    import PySide6.QtGui  # noqa: F401

    have_qtpdf()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def main() -> int:
    """Harden, read one request from stdin, write its reply to stdout, exit 0 (2 when the
    request is not one; a decoder that crashes ends the process with a signal)."""
    harden()
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    reply_fd = os.dup(1)  # only the reply goes here; fd 1 (print, Qt, libraries) goes nowhere
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)
    _preload_qt()  # while it waits (a renderer started ahead), not once the bytes are here
    try:
        kind, edge, data = read_request(0)
    except MalformedRequest:
        return 2
    os.close(0)
    _write_all(reply_fd, render(kind, edge, data))
    os.close(reply_fd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
