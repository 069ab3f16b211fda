"""Preview latency: in the window's process (before) and in a renderer process (now).

    python -m bench.preview [--repeat 7] [--jpeg-mb 5] [--pages 20]

Issue 13 moved evidence decoding out of the window (`ui.preview_process` starts
`ui.preview_worker` for each preview and pipes it the item's bytes). What does a preview
cost now? Each input is previewed both ways in the same run, round-robin, best and median:

* in-process, the baseline: the decoding the evidence tab did before, in this process
  (`ui.preview_worker.render_image` / `render_pdf`, the same code the renderer runs);
* isolated: `ui.preview_process.render` plus `image_of`, as the tab now does it (send the
  bytes to a renderer, read back and check the pixels, reap it), once with a renderer
  started for the preview and once with the one started ahead (the tab's case).

Inputs, made in memory: a JPEG of about 5 MB (noise, so it does not compress well), a
20-page PDF (each page text and shapes), 64 KiB of text, and an empty text request (what
starting a renderer alone costs). Nothing here touches a workspace: reading and decrypting
the item is the same before and after.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPageSize, QPainter, QPdfWriter

from bench.machine import describe
from bench.stats import heading, median, ms, row
from ui import preview_process, preview_worker
from ui.case_tabs.evidence import PREVIEW_EDGE, TEXT_PREVIEW_BYTES
from ui.preview_protocol import Kind

OUT = Path(__file__).resolve().parent / "out"


def jpeg_of_about(megabytes: float) -> bytes:
    """A noisy JPEG within 10% of `megabytes` MB (its size is adjusted until it is)."""
    target = megabytes * 1e6
    width, height = 1900, 1400
    for _ in range(8):
        noise = random.Random(13).randbytes(width * height * 4)
        image = QImage(noise, width, height, width * 4, QImage.Format.Format_RGB32).copy()
        array = QByteArray()
        buffer = QBuffer(array)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "JPEG", 92)  # type: ignore[call-overload]  # str works
        buffer.close()
        data = bytes(array.data())
        if abs(len(data) - target) <= target / 10:
            return data
        scale = (target / len(data)) ** 0.5
        width, height = int(width * scale), int(height * scale)
    return data


def pdf_of(pages: int) -> bytes:
    """A PDF of `pages` A4 pages, each with text and shapes, written to memory."""
    array = QByteArray()
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    painter = QPainter(writer)
    for page in range(pages):
        painter.drawText(
            QRectF(300, 300, 8000, 10000),
            Qt.TextFlag.TextWordWrap,
            f"Forensic report, page {page + 1}. " + "The convoy left at dawn. " * 200,
        )
        for step in range(40):
            painter.fillRect(
                300 + step * 150, 9000, 120, 120 + step * 40, QColor(step * 6, 80, 160)
            )
        if page + 1 < pages:
            writer.newPage()
    painter.end()
    buffer.close()
    return bytes(array.data())


def in_process(kind: Kind, data: bytes) -> None:
    """What the tab did before issue 13, in the window's own process."""
    if kind == Kind.IMAGE:
        assert preview_worker.render_image(data, PREVIEW_EDGE) is not None
    elif kind == Kind.PDF:
        assert preview_worker.render_pdf(data, PREVIEW_EDGE) is not None
    else:
        data.decode("utf-8", errors="replace")


def isolated_cold(kind: Kind, data: bytes) -> None:
    """A renderer started for this preview (no spare), and the checked reply made an image."""
    command = preview_process.worker_command()
    reply = preview_process.render(kind, PREVIEW_EDGE, data, command=command)
    if kind != Kind.TEXT:
        preview_process.image_of(reply)


def isolated(kind: Kind, data: bytes) -> None:
    """What the tab does now: the renderer started ahead (ready by the time a person picks
    the next item; here, a round ago), and the checked reply made an image."""
    reply = preview_process.render(kind, PREVIEW_EDGE, data)
    if kind != Kind.TEXT:
        preview_process.image_of(reply)


def timed(how: Callable[[Kind, bytes], None], kind: Kind, data: bytes) -> float:
    started = time.perf_counter()
    how(kind, data)
    return time.perf_counter() - started


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "?"


def main(argv: list[str] | None = None) -> int:
    """Make the inputs, time each preview both ways in rounds, print best and median."""
    parser = argparse.ArgumentParser(prog="python -m bench.preview", description=__doc__)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--jpeg-mb", type=float, default=5.0)
    parser.add_argument("--pages", type=int, default=20)
    args = parser.parse_args(argv)
    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])  # QPdfWriter's fonts

    print("Evidence preview latency, in-process (before) and isolated (issue 13)")
    print(f"python -m bench.preview, {_commit()}, {date.today().isoformat()}")
    heading("Machine")
    OUT.mkdir(exist_ok=True)
    for label, value in describe(OUT):
        row(label, value)
    row("PySide6", __import__("PySide6").__version__)
    row("load average at start (1, 5, 15 min)", _load())

    jpeg = jpeg_of_about(args.jpeg_mb)
    probe = QImage.fromData(jpeg)
    pdf = pdf_of(args.pages)
    text = (b"Witness W-0042 saw the trucks at dawn. " * 2000)[:TEXT_PREVIEW_BYTES]
    inputs = {
        f"JPEG {len(jpeg) / 1e6:.1f} MB, {probe.width()} x {probe.height()}": (Kind.IMAGE, jpeg),
        f"PDF, {args.pages} pages, {len(pdf) / 1e3:,.0f} kB, page 1": (Kind.PDF, pdf),
        f"text, {TEXT_PREVIEW_BYTES // 1024} KiB": (Kind.TEXT, text),
        "empty text (starting a renderer alone)": (Kind.TEXT, b""),
    }
    heading("Inputs")
    for label in inputs:
        row(label, "")

    ways: dict[str, Callable[[Kind, bytes], None]] = {
        "in-process": in_process,
        "isolated, new renderer": isolated_cold,
        "isolated, renderer started ahead": isolated,
    }
    times: dict[tuple[str, str], list[float]] = {}
    for kind, data in inputs.values():  # one of each first, not counted
        for how in ways.values():
            how(kind, data)
    for round_number in range(args.repeat):
        for label, (kind, data) in inputs.items():
            for way, how in ways.items():
                times.setdefault((label, way), []).append(timed(how, kind, data))
        print(f"  round {round_number + 1} of {args.repeat} done (load {_load()})")

    heading(f"Latency, best / median of {args.repeat}")
    for label in inputs:
        base = times[(label, "in-process")]
        row(f"{label}", "")
        row("  in-process (before)", f"{ms(min(base))} / {ms(median(base))}")
        for way in list(ways)[1:]:
            now = times[(label, way)]
            row(
                f"  {way}",
                f"{ms(min(now))} / {ms(median(now))}",
                f"+{ms(median(now) - median(base))} median",
            )
    row("load average at end", _load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
