"""Previews are made by a renderer process that holds no key and cannot take the window down.

The real renderer (`ui.preview_worker`) is fed good and hostile files (a truncated PNG, a
PNG whose header claims absurd dimensions, a small PNG that would decode to gigabytes, a
malformed and a truncated PDF); a misbehaving renderer (tests/ui/preview_rogue_worker.py,
started in its place) crashes, hangs, floods its pipe or answers out of protocol. Each
ends in a preview or a sentence, the renderer is gone (killed and reaped), and the tab
then previews the next item as usual. What the renderer is given is read from /proc:
its environment, arguments, working folder, descriptors, limits and memory.
"""

from __future__ import annotations

import os
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage, QPainter, QPdfWriter
from pytestqt.qtbot import QtBot

from storage.workspace import Workspace
from tests.e2e.memory import scan, why_unreadable
from tests.ui.test_evidence_tab import MakeTab, case_id, make_tab, png_bytes, settle, write
from ui import preview_process, preview_worker
from ui.case_tabs.evidence import EvidenceTab
from ui.preview_process import Command, Failure, PreviewerFailed, failure_sentence
from ui.preview_protocol import Kind, Status

__all__ = ["case_id", "make_tab"]  # fixtures shared with the evidence tab's tests

ROOT = Path(__file__).resolve().parents[2]
EDGE = 1024


@pytest.fixture(autouse=True)
def _application(qapp: object) -> Iterator[None]:
    """Making test PDFs (QPdfWriter draws text) needs the application object; no renderer
    started ahead outlives a test (a rogue one may be, when worker_command is patched)."""
    yield
    preview_process.stop_spare()


PYTHON = preview_process.worker_command().argv[:-2]  # this Python, as the renderer's


def rogue(mode: str) -> Command:
    """The misbehaving renderer, doing `mode`."""
    return Command([*PYTHON, "-m", "tests.ui.preview_rogue_worker", mode], ROOT)


def gone(pid: int) -> bool:
    """The process has ended and was reaped (a zombie still has a /proc entry)."""
    return not Path(f"/proc/{pid}").exists()


# -- hostile files ---------------------------------------------------------------------


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int, rows: int = 4) -> bytes:
    """A small PNG (8-bit grey) whose header says `width` x `height`; the data holds a few
    rows of zeros, compressed, like a decompression bomb's start."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\0" * min(rows * (width + 1), 1 << 22), 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def pdf_bytes(tmp_path: Path, pages: int = 2) -> bytes:
    path = tmp_path / "made.pdf"
    writer = QPdfWriter(str(path))
    painter = QPainter(writer)
    for page in range(pages):
        painter.drawText(100, 100, f"Forensic report, page {page + 1}")
        painter.fillRect(200, 200, 3000, 2000, QColor("navy"))
        if page + 1 < pages:
            writer.newPage()
    painter.end()
    data = path.read_bytes()
    path.unlink()
    return data


HOSTILE_IMAGES = {
    "truncated PNG": lambda: png_bytes(400, 300)[:200],
    "absurd dimensions": lambda: png_claiming(0x7FFFFFFF, 0x7FFFFFFF),
    "bomb header (60000 x 60000)": lambda: png_claiming(60000, 60000),
    "not an image at all": lambda: b"\x89PNG\r\n\x1a\n" + os.urandom(4000),
}
HOSTILE_PDFS = {
    "malformed PDF": lambda _tmp: (
        b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >>\n"
        + os.urandom(2000)
        + b"\ntrailer << /Root 1 0 R /Size 99999999 >>\n%%EOF\n"
    ),
    "truncated PDF": lambda tmp: pdf_bytes(tmp)[:700],
    "xref pointing nowhere": lambda tmp: pdf_bytes(tmp).replace(
        b"startxref", b"startxref\n999999999\n"
    ),
}


# -- the real renderer -----------------------------------------------------------------


def test_a_png_renders_as_it_did_in_the_window_process() -> None:
    data = png_bytes(1500, 900)
    reply = preview_process.render(Kind.IMAGE, EDGE, data)
    image, width, height = preview_worker.render_image(data, EDGE) or pytest.fail("no image")
    assert (
        (reply.status, reply.a, reply.b)
        == (Status.PIXELS, width, height)
        == (Status.PIXELS, 1500, 900)
    )
    assert (reply.width, reply.height) == (1024, 614)
    assert reply.payload == preview_worker.pixels(image)[2]
    shown = preview_process.image_of(reply)
    assert shown.pixelColor(500, 300) == QColor("darkred")


def test_a_pdf_renders_its_first_page_as_before(tmp_path: Path) -> None:
    data = pdf_bytes(tmp_path, pages=3)
    reply = preview_process.render(Kind.PDF, EDGE, data)
    page, pages = preview_worker.render_pdf(data, EDGE) or pytest.fail("no page")
    assert (reply.status, reply.a, pages) == (Status.PIXELS, 3, 3)
    assert (reply.width, reply.height) == (page.width(), page.height())
    assert max(reply.width, reply.height) == EDGE
    assert reply.payload == preview_worker.pixels(page)[2]
    shown = preview_process.image_of(reply)
    assert shown.pixelColor(1, 1) == QColor("white")  # painted on white, as before


def test_text_is_decoded_as_before() -> None:
    data = b"Witness W-0042 saw the trucks. " * 100 + b"\xff\xfe bad bytes"
    reply = preview_process.render(Kind.TEXT, EDGE, data)
    assert reply.status == Status.TEXT
    assert reply.payload.decode("utf-8") == data.decode("utf-8", errors="replace")


@pytest.mark.parametrize("name", sorted(HOSTILE_IMAGES))
def test_a_hostile_image_is_refused_by_the_renderer_not_the_window(name: str) -> None:
    reply = preview_process.render(Kind.IMAGE, EDGE, HOSTILE_IMAGES[name]())
    assert reply.status == Status.UNREADABLE


@pytest.mark.parametrize("name", sorted(HOSTILE_PDFS))
def test_a_hostile_pdf_ends_in_a_refusal_or_a_page(name: str, tmp_path: Path) -> None:
    """PDFium repairs some damage (a truncated file may still show its first page); what
    matters is a well-formed answer from a renderer that did not take anything down."""
    reply = preview_process.render(Kind.PDF, EDGE, HOSTILE_PDFS[name](tmp_path))
    assert reply.status in (Status.UNREADABLE, Status.PIXELS)
    if name == "malformed PDF":
        assert reply.status == Status.UNREADABLE


def test_a_request_that_is_not_one_ends_the_renderer_without_a_reply() -> None:
    process = preview_process.start()
    assert process.stdin is not None and process.stdout is not None
    out, _ = process.communicate(b"GET / HTTP/1.0\r\n\r\n", timeout=30)
    assert process.returncode == 2 and out == b""


def _wait_until_hardened(pid: int) -> str:
    """/proc/PID/status once the renderer has limited itself (it then waits on stdin)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = Path(f"/proc/{pid}/status").read_text()
        if "NoNewPrivs:\t1" in status:
            return status
        time.sleep(0.02)
    pytest.fail("the renderer never limited itself")


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_the_renderer_holds_no_key_no_valise_variable_and_no_workspace(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window's process holds the key and VALISE_* variables; the renderer, started
    from it while the workspace is open, has none of them, no descriptor into the
    workspace, no path to it, and the limits it set itself."""
    canary = "canary-3f9a1c passphrase-like value"
    monkeypatch.setenv("VALISE_TEST_CANARY", canary)
    key = bytes(ws._key)
    process = preview_process.start()
    try:
        pid = process.pid
        status = _wait_until_hardened(pid)
        assert "NoNewPrivs:\t1" in status
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        assert b"VALISE" not in environ and canary.encode() not in environ
        assert (
            dict(item.decode().split("=", 1) for item in environ.split(b"\0") if item)
            == preview_process.child_environment()
        )
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        root = str(ws.paths.root).encode()
        for secret in (key, key.hex().encode(), key.hex().upper().encode(), root):
            assert secret not in cmdline and secret not in environ
        assert not os.readlink(f"/proc/{pid}/cwd").startswith(str(ws.paths.root))
        targets = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        assert not [t for t in targets if t.startswith(str(ws.paths.root))]
        assert not [t for t in targets if t.startswith("/") and t != os.devnull], targets
        limits = Path(f"/proc/{pid}/limits").read_text()
        assert _limit(limits, "Max core file size") == "0"
        assert _limit(limits, "Max file size") == "0"
        assert _limit(limits, "Max cpu time") == str(preview_worker.CPU_SECONDS)
        assert _limit(limits, "Max data size") == str(preview_worker.DATA_LIMIT)
        if why_unreadable(pid) is None:  # root: read its whole memory
            needles = {"key": key, "key (hex)": key.hex().encode(), "canary": canary.encode()}
            assert scan(pid, needles) == []
        reply = preview_process.exchange(process, Kind.IMAGE, EDGE, png_bytes(4, 3))
        assert (reply.status, reply.width, reply.height) == (Status.PIXELS, 4, 3)
    finally:
        if process.returncode is None:
            process.kill()
            process.wait()
    assert gone(pid)


def _limit(limits: str, name: str) -> str:
    line = next(line for line in limits.splitlines() if line.startswith(name))
    return line[len(name) :].split()[0]


# -- a renderer that misbehaves --------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "failure"),
    [
        ("segv", Failure.STOPPED),
        ("exit1", Failure.STOPPED),
        ("flood", Failure.MALFORMED),
        ("too-wide", Failure.MALFORMED),
        ("short-pixels", Failure.MALFORMED),
        ("lying-length", Failure.MALFORMED),
        ("trailing", Failure.MALFORMED),
        ("wrong-status", Failure.MALFORMED),
    ],
)
def test_a_renderer_that_misbehaves_gives_a_failure_and_is_gone(
    mode: str, failure: Failure
) -> None:
    process = preview_process.start(rogue(mode))
    with pytest.raises(PreviewerFailed) as raised:
        preview_process.exchange(process, Kind.IMAGE, 64, png_bytes(4, 3), timeout=30)
    assert raised.value.failure == failure
    assert gone(process.pid)


def test_the_rogue_harness_itself_answers_when_told_to() -> None:
    """The control for the tests above: the same harness, well-behaved, is believed."""
    reply = preview_process.render(Kind.IMAGE, 64, png_bytes(4, 3), command=rogue("good"))
    assert preview_process.image_of(reply).pixelColor(0, 0) == QColor("red")


@pytest.mark.parametrize("mode", ["hang", "fork-hang"])
def test_a_renderer_that_hangs_is_killed_at_the_timeout(mode: str) -> None:
    process = preview_process.start(rogue(mode))
    started = time.monotonic()
    with pytest.raises(PreviewerFailed) as raised:
        preview_process.exchange(process, Kind.PDF, EDGE, b"%PDF-1.7", timeout=1.0)
    elapsed = time.monotonic() - started
    assert raised.value.failure == Failure.TIMED_OUT
    assert 1.0 <= elapsed < 5.0
    assert gone(process.pid)


def test_a_renderer_that_cannot_be_started_is_a_failure_too() -> None:
    command = Command([str(ROOT / "no-such-renderer")], ROOT)
    with pytest.raises(PreviewerFailed) as raised:
        preview_process.render(Kind.TEXT, EDGE, b"x", command=command)
    assert raised.value.failure == Failure.NOT_STARTED


# -- in the window ---------------------------------------------------------------------


@pytest.fixture
def fast_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preview_process, "TIMEOUT_SECONDS", 1.0)


def _ids(tab: EvidenceTab) -> list[str]:
    """The items' ids in the order the files were added (photo, broken PNG, broken PDF)."""
    by_name = {item.original_name: item.id for item in tab.model.items()}
    return [by_name["wall.png"], by_name["broken.png"], by_name["broken.pdf"]]


def _show(qtbot: QtBot, tab: EvidenceTab, evidence_id: str) -> None:
    assert tab.select(evidence_id)
    settle(qtbot, tab)


@pytest.fixture
def three_items(
    make_tab: MakeTab, tmp_path: Path, qtbot: QtBot
) -> Iterator[tuple[EvidenceTab, list[str]]]:
    """A tab with a good photo, a truncated PNG and a malformed PDF."""
    files = [
        write(tmp_path, "wall.png", png_bytes(40, 30)),
        write(tmp_path, "broken.png", HOSTILE_IMAGES["truncated PNG"]()),
        write(tmp_path, "broken.pdf", HOSTILE_PDFS["malformed PDF"](tmp_path)),
    ]
    tab = make_tab()
    assert tab.add_files(files)
    settle(qtbot, tab)
    yield tab, _ids(tab)


def _previews_the_photo(qtbot: QtBot, tab: EvidenceTab, photo: str) -> None:
    _show(qtbot, tab, photo)
    assert (tab.preview_pixmap().width(), tab.preview_pixmap().height()) == (40, 30)
    assert tab.preview_message() == "40 × 30 pixels."


def test_hostile_files_in_the_tab_get_a_sentence_and_the_tab_goes_on(
    qtbot: QtBot, three_items: tuple[EvidenceTab, list[str]]
) -> None:
    tab, (photo, broken_png, broken_pdf) = three_items
    _previews_the_photo(qtbot, tab, photo)
    _show(qtbot, tab, broken_png)
    assert tab.preview_message() == "This image could not be decoded for a preview."
    assert tab.preview_pixmap().isNull()
    _show(qtbot, tab, broken_pdf)
    assert tab.preview_message() == "This PDF could not be read for a preview."
    _previews_the_photo(qtbot, tab, photo)


@pytest.mark.parametrize(
    ("mode", "failure"),
    [("segv", Failure.STOPPED), ("hang", Failure.TIMED_OUT), ("too-wide", Failure.MALFORMED)],
)
def test_a_renderer_that_crashes_or_hangs_leaves_a_sentence_and_a_working_window(
    qtbot: QtBot,
    three_items: tuple[EvidenceTab, list[str]],
    monkeypatch: pytest.MonkeyPatch,
    fast_timeout: None,
    mode: str,
    failure: Failure,
) -> None:
    tab, (photo, broken_png, _pdf) = three_items
    _previews_the_photo(qtbot, tab, photo)
    real: Callable[[], Command] = preview_process.worker_command
    monkeypatch.setattr(preview_process, "worker_command", lambda: rogue(mode))
    _show(qtbot, tab, broken_png)
    assert tab.preview_message() == failure_sentence(failure)
    assert "Save a copy" in tab.preview_message() or failure == Failure.NOT_STARTED
    assert tab.preview_pixmap().isNull() and tab.preview_plain_text() == ""
    assert tab.isVisible() and tab.table.isEnabled()
    monkeypatch.setattr(preview_process, "worker_command", real)
    _previews_the_photo(qtbot, tab, photo)


def test_the_sentences_say_what_happened_and_what_to_do() -> None:
    stopped = failure_sentence(Failure.STOPPED)
    assert stopped.startswith("This file could not be previewed: the previewer stopped")
    assert "The evidence itself is unchanged" in stopped and "Save a copy" in stopped
    assert "took more than 10 seconds" in failure_sentence(Failure.TIMED_OUT)
    assert failure_sentence(Failure.MALFORMED) == stopped


def test_image_of_makes_an_image_that_owns_its_pixels() -> None:
    reply = preview_process.render(Kind.IMAGE, EDGE, png_bytes(3, 2))
    image = preview_process.image_of(reply)
    del reply
    assert image.format() == QImage.Format.Format_ARGB32
    assert image.pixelColor(2, 1) == QColor("darkred")


def test_the_renderer_started_ahead_is_used_once_and_stopped_on_request() -> None:
    """Each preview leaves one renderer waiting (no evidence in it yet); the next preview
    uses it, and leaves another. stop_spare (at exit, and before a lock) ends it."""
    preview_process.render(Kind.TEXT, EDGE, b"first")
    spare = preview_process._spare
    assert spare is not None and spare[1].poll() is None
    _wait_until_hardened(spare[1].pid)
    assert preview_process.render(Kind.TEXT, EDGE, b"second").payload == b"second"
    assert spare[1].returncode == 0 and gone(spare[1].pid)  # used, exited, reaped
    following = preview_process._spare
    assert following is not None and following[1].pid != spare[1].pid
    preview_process.stop_spare()
    assert preview_process._spare is None and gone(following[1].pid)


def test_a_renderer_started_ahead_for_another_command_is_not_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    preview_process.render(Kind.TEXT, EDGE, b"first")
    spare = preview_process._spare
    assert spare is not None
    monkeypatch.setattr(preview_process, "worker_command", lambda: rogue("good"))
    reply = preview_process.render(Kind.IMAGE, 64, png_bytes(4, 3))
    assert (reply.width, reply.height) == (1, 1)  # the rogue's answer, not the real one's
    assert gone(spare[1].pid)
