"""The evidence tab: real widgets on a real workspace, every step on the runner's worker.

Files are chosen by injected choosers, questions answered by `ScriptedPrompts`, and the
test waits for the tab to become idle again (never sleeps). Where a step must be caught
half-way (a cancel), the storage call is wrapped so the worker pauses at its first
progress report until the test has pressed Cancel.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QImage, QPainter, QPdfWriter
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from storage import audit, cases, evidence, queries
from storage.blobs import CHUNK
from storage.records import Evidence
from storage.workspace import Workspace, open_workspace
from tests.conftest import PASSPHRASE
from tests.ui.conftest import delete_and_wait
from ui.case_tabs import evidence as evidence_tab
from ui.case_tabs.evidence import EvidenceTab
from ui.models.evidence_model import ErnRole, EvidenceIdRole, EvidenceModel, Sha256Role
from ui.prompts import ScriptedPrompts
from ui.tasks import TaskRunner

WAIT_MS = 60_000  # generous: the CPU is shared with other suites


@pytest.fixture
def case_id(ws: Workspace) -> str:
    return cases.add_case(ws, "Shelling of the Varosa market")


MakeTab = Callable[..., EvidenceTab]


@pytest.fixture
def make_tab(qtbot: QtBot, ws: Workspace, runner: TaskRunner, case_id: str) -> Iterator[MakeTab]:
    """An evidence tab on the test's workspace, shown, with its register read."""
    made: list[EvidenceTab] = []

    def make(prompts: ScriptedPrompts | None = None, **choosers: Any) -> EvidenceTab:
        tab = EvidenceTab(
            ws, case_id, prompts=prompts or ScriptedPrompts(), runner=runner, **choosers
        )
        qtbot.addWidget(tab)
        tab.resize(1000, 700)
        tab.show()
        made.append(tab)
        settle(qtbot, tab)
        return tab

    yield make
    for tab in made:  # no task may outlive the workspace
        qtbot.waitUntil(lambda tab=tab: tab.is_idle, timeout=WAIT_MS)


def settle(qtbot: QtBot, tab: EvidenceTab) -> None:
    """Wait until the tab runs nothing and has nothing waiting to run."""
    qtbot.waitUntil(lambda: tab.is_idle, timeout=WAIT_MS)


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def png_bytes(width: int = 40, height: int = 30) -> bytes:
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("darkred"))
    array = QByteArray()
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    assert image.save(buffer, "PNG")
    buffer.close()
    return bytes(array.data())


def files_under(*folders: Path) -> set[Path]:
    return {p for folder in folders for p in folder.rglob("*")}


def ern_column(tab: EvidenceTab) -> list[str]:
    model = tab.model
    return [model.index(row, EvidenceModel.ERN).data() for row in range(model.rowCount())]


def pause_adds(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """Make the tab's next add wait at its first progress report, mid-file: `reached` is
    set when it waits, and it goes on once the test sets `go_on`."""
    reached, go_on = threading.Event(), threading.Event()
    real_add = evidence.add_evidence

    def paused_add(*args: Any, progress: Any = None, **kwargs: Any) -> Any:
        def pausing(done: int, total: int) -> None:
            if not reached.is_set():
                reached.set()
                go_on.wait(WAIT_MS / 1000)
            progress(done, total)

        return real_add(*args, progress=pausing, **kwargs)

    monkeypatch.setattr(evidence_tab, "add_evidence", paused_add)
    return reached, go_on


def add_through_chooser(qtbot: QtBot, tab: EvidenceTab) -> None:
    qtbot.mouseClick(tab.add_button, Qt.MouseButton.LeftButton)
    settle(qtbot, tab)


def test_adding_a_file_through_the_chooser_lists_it_with_its_ern(
    qtbot: QtBot, make_tab: MakeTab, tmp_path: Path, ws: Workspace
) -> None:
    source = write(tmp_path, "scene photo.jpg", b"\xff\xd8 not really a jpeg " * 100)
    asked: list[str] = []

    def chooser(_parent: QWidget, caption: str) -> list[Path]:
        asked.append(caption)
        return [source]

    changes: list[None] = []
    tab = make_tab(choose_files=chooser)
    tab.changed.connect(lambda: changes.append(None))
    add_through_chooser(qtbot, tab)
    assert asked == ["Add evidence to this case"]
    assert ern_column(tab) == ["VAR-KAB-0001-0001"]
    index = tab.model.index(0, EvidenceModel.TITLE)
    assert index.data() == "scene photo.jpg"
    assert index.data(Sha256Role) == hashlib.sha256(source.read_bytes()).hexdigest()
    assert tab.model.index(0, EvidenceModel.TYPE).data() == "photo"
    assert "Added 1 item" in tab.status_label.text()
    assert changes == [None]
    assert tab.details is not None and tab.details.item.ern == "VAR-KAB-0001-0001"


def test_a_cancelled_chooser_adds_nothing_and_says_nothing(qtbot: QtBot, make_tab: MakeTab) -> None:
    prompts = ScriptedPrompts()
    tab = make_tab(prompts, choose_files=lambda _parent, _caption: [])
    assert tab.choose_and_add() is False
    assert tab.model.rowCount() == 0 and prompts.asked == []


def test_dropping_a_file_on_the_tab_adds_it(
    qtbot: QtBot, make_tab: MakeTab, tmp_path: Path
) -> None:
    source = write(tmp_path, "statement.txt", b"I saw the trucks at dawn.\n")
    tab = make_tab()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(source))])
    enter = QDragEnterEvent(
        QPoint(20, 20),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(tab, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(20, 20),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(tab.changed, timeout=WAIT_MS):
        QApplication.sendEvent(tab, drop)
    settle(qtbot, tab)
    assert ern_column(tab) == ["VAR-KAB-0001-0001"]
    assert tab.model.index(0, EvidenceModel.TITLE).data() == "statement.txt"


def test_cancelling_a_large_add_leaves_nothing(
    qtbot: QtBot,
    make_tab: MakeTab,
    tmp_path: Path,
    ws: Workspace,
    case_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker pauses at its first progress report until Cancel was pressed, so the
    cancel lands mid-file: the staged encrypted file is dropped and no row is written."""
    source = write(tmp_path, "video.mp4", b"\x00\x01\x02\x03" * (CHUNK))  # 4 MiB
    reached, go_on = pause_adds(monkeypatch)
    prompts = ScriptedPrompts()
    tab = make_tab(prompts)
    busy: list[bool] = []
    tab.busy.connect(busy.append)
    assert tab.add_files([source])
    qtbot.waitUntil(reached.is_set, timeout=WAIT_MS)
    assert tab.cancel_button.isEnabled() and not tab.add_button.isEnabled()
    tab.cancel()
    go_on.set()
    settle(qtbot, tab)
    assert busy == [True, False]
    assert tab.model.rowCount() == 0
    assert queries.in_case(ws.conn, Evidence, case_id) == []
    assert [p for p in ws.blobs.stored_names() if p.is_file()] == []
    assert tab.status_label.text() == "Adding cancelled. Nothing was added."
    assert prompts.asked == []  # a cancel is silent


def test_a_folder_or_an_empty_file_gets_a_plain_warning(
    qtbot: QtBot, make_tab: MakeTab, tmp_path: Path, ws: Workspace
) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    empty = write(tmp_path, "empty.txt", b"")
    prompts = ScriptedPrompts()
    tab = make_tab(prompts)
    assert tab.add_files([folder, empty])
    settle(qtbot, tab)
    [warning] = prompts.asked
    assert warning.kind == "warn" and warning.title == "Add evidence"
    first, second = warning.text.split("\n")
    assert first.startswith("This is a folder, not a file; add the files inside it")
    assert second.startswith("The file is empty (0 bytes); there is nothing to add")
    assert tab.model.rowCount() == 0


def test_previews_come_from_memory_and_leave_no_file_anywhere(
    qtbot: QtBot,
    make_tab: MakeTab,
    tmp_path: Path,
    ws: Workspace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An image and a long text are previewed; the text only up to its first 64 KiB.
    Neither the workspace folder nor the temporary folder gains a file meanwhile, and each
    preview is audited as a view."""
    photo = write(tmp_path, "wall.png", png_bytes(40, 30))
    line = "Witness W-0042 saw the trucks at dawn. "
    statement = write(tmp_path, "statement.txt", (line * 6000).encode())  # ~230 KiB
    tab = make_tab()
    assert tab.add_files([photo, statement])
    settle(qtbot, tab)
    photo_id, text_id = (
        tab.model.index(row, 0).data(EvidenceIdRole) for row in range(tab.model.rowCount())
    )
    private_tmp = tmp_path / "private-tmp"
    private_tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    before = files_under(ws.paths.root, private_tmp)
    viewed_before = len(audit.entries(ws.conn, 1000, action="evidence viewed"))

    assert tab.select(photo_id)
    settle(qtbot, tab)
    pixmap = tab.preview_pixmap()
    assert not pixmap.isNull() and (pixmap.width(), pixmap.height()) == (40, 30)
    assert tab.preview_message() == "40 × 30 pixels."

    assert tab.select(text_id)
    settle(qtbot, tab)
    shown = tab.preview_plain_text()
    assert shown.startswith(line) and len(shown) == evidence_tab.TEXT_PREVIEW_BYTES
    assert tab.preview_message().startswith("The first 64.0 KiB of")
    assert tab.preview_pixmap().isNull()

    assert files_under(ws.paths.root, private_tmp) == before
    viewed_after = len(audit.entries(ws.conn, 1000, action="evidence viewed"))
    assert viewed_after == viewed_before + 2


@pytest.mark.skipif(not evidence_tab.HAVE_QTPDF, reason="QtPdf is not installed")
def test_a_pdf_preview_shows_its_first_page(
    qtbot: QtBot, make_tab: MakeTab, tmp_path: Path
) -> None:
    path = tmp_path / "report.pdf"
    writer = QPdfWriter(str(path))
    painter = QPainter(writer)
    painter.drawText(100, 100, "Forensic report, page one")
    writer.newPage()
    painter.drawText(100, 100, "Page two")
    painter.end()
    tab = make_tab()
    assert tab.add_files([path])
    settle(qtbot, tab)
    assert not tab.preview_pixmap().isNull()
    assert tab.preview_message() == "Page 1 of 2."


def test_other_kinds_of_file_get_a_sentence(
    qtbot: QtBot, make_tab: MakeTab, tmp_path: Path
) -> None:
    tab = make_tab()
    assert tab.add_files([write(tmp_path, "phone.bin", b"\x00\x01" * 500)])
    settle(qtbot, tab)
    assert tab.preview_message() == "No preview for this kind of file."
    assert tab.preview_pixmap().isNull() and tab.preview_plain_text() == ""


def test_register_fields_are_saved(
    qtbot: QtBot, make_tab: MakeTab, tmp_path: Path, ws: Workspace
) -> None:
    tab = make_tab()
    assert tab.add_files([write(tmp_path, "img_0042.jpg", b"jpeg bytes" * 50)])
    settle(qtbot, tab)
    tab.title_edit.setText("North wall of the market, after the strike")
    tab.source_edit.setText("P-0291")
    tab.description_edit.setPlainText("Taken from the roof opposite.")
    tab.classification_box.setCurrentText("strictly confidential")
    assert set(tab.edited_fields()) == {"title", "source", "description", "classification"}
    with qtbot.waitSignal(tab.changed, timeout=WAIT_MS):
        qtbot.mouseClick(tab.save_button, Qt.MouseButton.LeftButton)
    settle(qtbot, tab)
    assert tab.details is not None
    item = queries.get(ws.conn, Evidence, tab.details.item.id)
    assert item.title == "North wall of the market, after the strike"
    assert (item.source, item.classification) == ("P-0291", "strictly confidential")
    assert item.description == "Taken from the roof opposite."
    assert tab.model.index(0, EvidenceModel.TITLE).data() == item.title
    assert tab.edited_fields() == {}


def test_save_a_copy_writes_the_same_bytes_and_records_custody(
    qtbot: QtBot, make_tab: MakeTab, tmp_path: Path, ws: Workspace
) -> None:
    data = hashlib.sha256(b"seed").digest() * (CHUNK // 16)  # 2 MiB, two chunks
    source = write(tmp_path, "intercept.wav", data)
    target = tmp_path / "out" / "copy.wav"
    target.parent.mkdir()
    prompts = ScriptedPrompts([True])
    tab = make_tab(prompts, choose_save=lambda _parent, _caption, suggested: target)
    assert tab.add_files([source])
    settle(qtbot, tab)
    qtbot.mouseClick(tab.export_button, Qt.MouseButton.LeftButton)
    settle(qtbot, tab)
    assert target.read_bytes() == data
    assert [a.kind for a in prompts.asked] == ["confirm"]
    assert "not encrypted" in prompts.asked[0].text
    assert tab.details is not None
    events = [e.event for e in queries.custody_of(ws.conn, tab.details.item.id)]
    assert events == ["collected", "exported"]
    assert tab.timeline.rowCount() == 2 and tab.timeline.item(1, 1).text() == "exported"
    assert str(target) in tab.status_label.text()


def test_declining_the_export_question_writes_nothing(
    qtbot: QtBot, make_tab: MakeTab, tmp_path: Path
) -> None:
    chosen: list[str] = []
    tab = make_tab(
        ScriptedPrompts([False]),
        choose_save=lambda _parent, caption, _suggested: chosen.append(caption),
    )
    assert tab.add_files([write(tmp_path, "a.txt", b"text")])
    settle(qtbot, tab)
    assert tab.save_copy() is False
    assert chosen == []


def test_adding_a_custody_event_shows_it_in_the_timeline(
    qtbot: QtBot, make_tab: MakeTab, tmp_path: Path, ws: Workspace
) -> None:
    offered: list[tuple[str, ...]] = []

    def ask(_parent: QWidget, events: Any) -> tuple[str, str]:
        offered.append(tuple(events))
        return "sealed", "Sealed in bag 12 by the field team"

    tab = make_tab(ask_custody=ask)
    assert tab.add_files([write(tmp_path, "knife.jpg", b"photo of a knife" * 40)])
    settle(qtbot, tab)
    assert tab.timeline.rowCount() == 1
    with qtbot.waitSignal(tab.changed, timeout=WAIT_MS):
        qtbot.mouseClick(tab.add_event_button, Qt.MouseButton.LeftButton)
    settle(qtbot, tab)
    assert "sealed" in offered[0] and "collected" not in offered[0]
    assert tab.timeline.rowCount() == 2
    assert tab.timeline.item(0, 1).text() == "collected"
    assert tab.timeline.item(1, 1).text() == "sealed"
    assert tab.timeline.item(1, 3).text() == "Sealed in bag 12 by the field team"
    # Who: the office whose key signed it first, then the name as its author wrote it.
    who = tab.timeline.item(1, 2).text()
    assert who.startswith(f"{ws.office_name} (this office, ") and ws.author in who
    assert tab.details is not None
    [_, sealed] = queries.custody_of(ws.conn, tab.details.item.id)
    assert (sealed.event, sealed.note) == ("sealed", "Sealed in bag 12 by the field team")


def test_integrity_check_says_ok_then_mismatch_after_damage(
    qtbot: QtBot, make_tab: MakeTab, tmp_path: Path, ws: Workspace
) -> None:
    prompts = ScriptedPrompts()
    tab = make_tab(prompts)
    assert tab.add_files([write(tmp_path, "ledger.txt", b"2027-03-14 fuel 40 l\n" * 5000)])
    settle(qtbot, tab)
    qtbot.mouseClick(tab.check_button, Qt.MouseButton.LeftButton)
    settle(qtbot, tab)
    assert tab.integrity_text() == "Integrity ok: all 1 item matches its recorded SHA-256."
    assert prompts.asked == []
    assert tab.timeline.item(tab.timeline.rowCount() - 1, 1).text() == "verified"

    [stored] = [p for p in ws.blobs.stored_names() if p.is_file()]
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0x01
    stored.write_bytes(bytes(data))
    qtbot.mouseClick(tab.check_button, Qt.MouseButton.LeftButton)
    settle(qtbot, tab)
    text = tab.integrity_text()
    assert text.startswith("Integrity MISMATCH: 1 of 1 items do not match")
    assert "VAR-KAB-0001-0001: " in text
    assert [(a.kind, a.title) for a in prompts.asked] == [("warn", "Check integrity")]
    last = tab.timeline.rowCount() - 1
    assert tab.timeline.item(last, 1).text() == "verified"
    assert "MISMATCH" in tab.timeline.item(last, 3).text()


def test_the_evidence_model_passes_qtmodeltester(
    qtmodeltester: ModelTester, ws: Workspace, case_id: str, tmp_path: Path
) -> None:
    model = EvidenceModel()
    qtmodeltester.check(model)
    for number in range(3):
        evidence.add_evidence(ws, case_id, write(tmp_path, f"f{number}.txt", b"x" * (number + 1)))
    rows = queries.in_case(ws.conn, Evidence, case_id)
    model.set_rows(rows)
    qtmodeltester.check(model)
    assert model.rowCount() == 3
    index = model.index(2, EvidenceModel.SHA256)
    assert index.data(EvidenceIdRole) == rows[2].id
    assert index.data(ErnRole) == "VAR-KAB-0001-0003"
    assert index.data() == rows[2].sha256[:12] + "…"
    assert index.data(Qt.ItemDataRole.ToolTipRole) == rows[2].sha256
    assert model.index(0, EvidenceModel.SIZE).data() == "1 bytes"
    assert len(model.index(0, EvidenceModel.ADDED).data()) == 10
    assert model.row_of(rows[1].id) == 1


def test_a_damaged_stored_file_still_shows_register_and_custody(
    qtbot: QtBot, make_tab: MakeTab, tmp_path: Path, ws: Workspace, case_id: str
) -> None:
    """The preview says why it is missing; the item's other details stay usable."""
    item_id = evidence.add_evidence(ws, case_id, write(tmp_path, "notes.txt", b"notes\n" * 99))
    [stored] = [p for p in ws.blobs.stored_names() if p.is_file()]
    data = bytearray(stored.read_bytes())
    data[-5] ^= 0x01
    stored.write_bytes(bytes(data))
    prompts = ScriptedPrompts()
    tab = make_tab(prompts)
    assert tab.select(item_id)
    settle(qtbot, tab)
    assert tab.preview_message().startswith("No preview: A stored evidence file is damaged")
    assert tab.ern_label.text() == "VAR-KAB-0001-0001"
    assert tab.timeline.rowCount() == 1
    assert prompts.asked == []


def test_a_reread_asked_for_in_the_changed_slot_keeps_the_new_item_selected(
    qtbot: QtBot, make_tab: MakeTab, tmp_path: Path
) -> None:
    """The case view rereads every tab when one changed the case; `changed` comes while the
    tab is idle, and the item just added stays the one selected and shown."""
    tab = make_tab()
    assert tab.add_files([write(tmp_path, "first.txt", b"first")])
    settle(qtbot, tab)
    busy_in_slot: list[bool] = []

    def case_view_slot() -> None:
        busy_in_slot.append(tab.is_busy)
        tab.refresh()

    tab.changed.connect(case_view_slot)
    assert tab.add_files([write(tmp_path, "second.txt", b"second")])
    settle(qtbot, tab)
    assert busy_in_slot == [False]
    assert tab.details is not None and tab.details.item.ern == "VAR-KAB-0001-0002"
    assert tab.selected_id() == tab.details.item.id
    assert tab.preview_plain_text() == "second"


def test_locking_while_a_large_file_is_added_cancels_it_then_locks(
    qtbot: QtBot,
    runner: TaskRunner,
    tmp_path: Path,
    ws: Workspace,
    case_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ui.main_window import MainWindow

    source = write(tmp_path, "video.mp4", b"\x00\x01\x02\x03" * (CHUNK))
    reached, go_on = pause_adds(monkeypatch)
    window = MainWindow(ws, prompts=ScriptedPrompts(), runner=runner)
    qtbot.addWidget(window)
    window.show()
    window.open_case(case_id)
    tab = window.findChild(EvidenceTab)
    assert tab is not None
    settle(qtbot, tab)
    assert tab.add_files([source])
    qtbot.waitUntil(reached.is_set, timeout=WAIT_MS)
    window.lock()  # asked while the file is being added: the add is cancelled first
    assert window.workspace is not None and "then locking" in window.statusBar().currentMessage()
    go_on.set()
    qtbot.waitUntil(lambda: window.workspace is None, timeout=WAIT_MS)
    reopened = open_workspace(ws.paths.root, PASSPHRASE)
    try:
        assert queries.in_case(reopened.conn, Evidence, case_id) == []
        assert [p for p in reopened.blobs.stored_names() if p.is_file()] == []
    finally:
        reopened.close()


def test_a_tab_deleted_while_a_file_is_added_stops_the_add_and_shows_nothing(
    qtbot: QtBot,
    runner: TaskRunner,
    tmp_path: Path,
    ws: Workspace,
    case_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The add's outcome used to arrive in the deleted tab's widgets ("Internal C++ object
    already deleted" from the event loop). Now the tab's going cancels the add, which
    keeps nothing, and the outcome is dropped."""
    source = write(tmp_path, "video.mp4", b"\x00\x01\x02\x03" * (CHUNK))  # 4 MiB
    reached, go_on = pause_adds(monkeypatch)
    prompts = ScriptedPrompts()
    tab = EvidenceTab(ws, case_id, prompts=prompts, runner=runner)
    tab.show()
    qtbot.waitUntil(lambda: tab.is_idle, timeout=WAIT_MS)
    assert tab.add_files([source])
    qtbot.waitUntil(reached.is_set, timeout=WAIT_MS)
    delete_and_wait(qtbot, tab)
    go_on.set()
    qtbot.waitUntil(lambda: runner.active == 0, timeout=WAIT_MS)
    assert queries.in_case(ws.conn, Evidence, case_id) == []
    assert [p for p in ws.blobs.stored_names() if p.is_file()] == []
    assert prompts.asked == []


def test_opening_the_tab_of_a_case_with_items_shows_the_first_item(
    qtbot: QtBot, make_tab: MakeTab, tmp_path: Path, ws: Workspace, case_id: str
) -> None:
    """Found by the end-to-end walk (tests/e2e/test_sharing_walk.py): the tab opened with no
    item selected, every register field and Release… disabled, so the keys a person used
    to reach Release… pressed Add evidence… instead."""
    evidence.add_evidence(ws, case_id, write(tmp_path, "statement.txt", b"a" * 64))
    evidence.add_evidence(ws, case_id, write(tmp_path, "photo.jpg", b"b" * 64))
    tab = make_tab()
    qtbot.waitUntil(lambda: tab.details is not None, timeout=WAIT_MS)
    settle(qtbot, tab)
    assert tab.details is not None
    shown = tab.details.item.id
    assert shown == tab.selected_id() == tab.model.index(0, 0).data(EvidenceIdRole)
    assert tab.release_button.isEnabled() and tab.title_edit.isEnabled()
