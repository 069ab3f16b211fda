"""The evidence tab of a case: the register, adding files, previews, custody and integrity.

Files come in through "Add evidence…" or by dropping them on the tab; each is streamed
through SHA-256 and AES-GCM by `storage.evidence.add_evidence` on the runner's worker, with
a progress bar and Cancel (a cancelled add leaves nothing: storage drops the staged file).
Selecting an item shows its register fields (editable, saved with
`storage.cases.update_record`), a preview and its chain of custody.

Nothing is written in clear to disk for a preview: the plaintext comes from
`storage.evidence.read_evidence` (which records an "evidence viewed" audit entry when it is
called, before any byte is read) straight into memory, only as much as the preview needs,
and goes through a pipe to a renderer process that holds no key (`ui.preview_process`):
evidence comes from adversaries, and image decoders and PDFium are attack surface. A
renderer that crashes or hangs leaves a sentence in the preview pane, not a broken window.
The one way to get a plain file out is "Save a copy…", an explicit export that storage
audits and records as a custody event.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QItemSelection,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import (
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QKeySequence,
    QPixmap,
    QShortcut,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from storage import queries
from storage.blobs import Cancelled as StorageCancelled
from storage.cases import update_record
from storage.entities import (
    CLASSIFICATIONS,
    COLLECTION_METHODS,
    CUSTODY_EVENTS,
    EVIDENCE_TYPES,
    is_utf8,
)
from storage.errors import IntegrityError, StorageError
from storage.evidence import (
    VerifyResult,
    add_custody,
    add_evidence,
    copy_name,
    custody,
    export_evidence,
    read_evidence,
    verify_all,
)
from storage.records import CaseId, CustodyEvent, Evidence, EvidenceId
from storage.workspace import Workspace
from ui import preview_process
from ui.cancellable_work import CancellableJob, CancellableWork
from ui.case_tabs.release_work import ReleaseOptions, ReleaseOutcome, read_release_options, release
from ui.dialogs.release_form import ReleaseChoice, ReleaseDialog, ReleaseTarget
from ui.models.bundle_model import size_text
from ui.models.evidence_model import EvidenceIdRole, EvidenceModel
from ui.peers_view import sentence
from ui.preview_process import PreviewerFailed, failure_sentence
from ui.preview_protocol import Kind, Status
from ui.preview_worker import have_qtpdf
from ui.prompts import Prompts
from ui.tasks import ProgressSink, TaskRunner

# QtPdf ships in PySide6-Addons; without it PDFs get a sentence instead of a page.
HAVE_QTPDF = have_qtpdf()

TITLE = "Evidence"
TEXT_PREVIEW_BYTES = 64 * 1024  # text previews read no more than this
WHOLE_PREVIEW_LIMIT = 32 * 1024 * 1024  # images and PDFs are decoded whole, up to this size
PREVIEW_EDGE = 1024  # longest edge of a preview image, in pixels
NO_PREVIEW = "No preview for this kind of file."

# Events Valise records itself, with the hash it saw; a person does not type them in.
RECORDED_BY_VALISE = ("collected", "verified", "exported", "sent in bundle", "received in bundle")
MANUAL_CUSTODY_EVENTS = tuple(e for e in CUSTODY_EVENTS if e not in RECORDED_BY_VALISE)

TEXT_MEDIA_TYPES = frozenset(
    {"application/json", "application/xml", "application/x-yaml", "application/csv"}
)

FilesChooser = Callable[[QWidget, str], list[Path]]
SaveChooser = Callable[[QWidget, str, str], Path | None]
CustodyAsker = Callable[[QWidget, Sequence[str]], tuple[str, str] | None]
ReleaseAsker = Callable[[QWidget, Evidence, Sequence[ReleaseTarget], str], ReleaseChoice | None]


DIGEST_GROUP = 8  # hex digits in each group of a SHA-256 as shown


def grouped_digest(sha256: str) -> str:
    """A digest in groups of eight hex digits: an eye compares it group by group, and the
    register can wrap it (64 digits in one word held the window wider than the screen)."""
    return " ".join(sha256[i : i + DIGEST_GROUP] for i in range(0, len(sha256), DIGEST_GROUP))


def choose_files(parent: QWidget, caption: str) -> list[Path]:
    """Ask for files with the platform's dialog; an empty list when the person cancels."""
    names, _filter = QFileDialog.getOpenFileNames(parent, caption)
    return [Path(name) for name in names]


def choose_save_path(parent: QWidget, caption: str, suggested: str) -> Path | None:
    """Ask where to write a copy; None on cancel. Storage refuses to overwrite, so the
    dialog does not offer to."""
    name, _filter = QFileDialog.getSaveFileName(
        parent, caption, suggested, options=QFileDialog.Option.DontConfirmOverwrite
    )
    return Path(name) if name else None


# -- work done on the worker thread (the only place this tab uses the database) ----------


@dataclass
class Preview:
    """What the preview pane shows: an image, some text, or only a sentence."""

    kind: str  # "image", "text" or "none"
    note: str = ""
    image: QImage | None = None
    text: str = ""


@dataclass
class Details:
    """One item as the tab shows it: its register row, custody and (maybe) a preview."""

    item: Evidence
    events: list[CustodyEvent]
    preview: Preview | None = None


@dataclass
class AddOutcome:
    """What an add did: the items added, a sentence per file refused, the register after."""

    added: list[EvidenceId] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    rows: list[Evidence] = field(default_factory=list)


@dataclass
class ExportOutcome:
    """Where the copy went, and the custody timeline with its "exported" event."""

    item: Evidence
    target: Path
    events: list[CustodyEvent]


@dataclass
class IntegrityOutcome:
    """The case's results and the selected item after."""

    results: list[VerifyResult]
    details: Details | None


def read_register(ws: Workspace, case_id: CaseId) -> list[Evidence]:
    """The case's items, oldest first."""
    return queries.in_case(ws.conn, Evidence, case_id)


def add_files(
    ws: Workspace,
    case_id: CaseId,
    files: Sequence[Path],
    sink: ProgressSink,
    cancel: threading.Event,
) -> AddOutcome:
    """Add each file in turn. A file storage refuses (a folder, an empty or unreadable
    file) gets a sentence and the others go on; a cancel stops the file being added, which
    leaves nothing, and the files after it."""
    outcome = AddOutcome()
    for number, path in enumerate(files, start=1):
        text = f"Adding {path.name} ({number} of {len(files)})…"
        sink.report(0, 0, text)

        def progress(done: int, total: int, text: str = text) -> None:
            sink.report(done, total, text)

        try:
            outcome.added.append(add_evidence(ws, case_id, path, progress=progress, cancel=cancel))
        except StorageCancelled:
            break
        except StorageError as exc:
            outcome.problems.append(sentence(str(exc)))
    sink.report(0, 0, "Reading the register…")
    outcome.rows = read_register(ws, case_id)
    return outcome


def _close(chunks: Iterator[bytes]) -> None:
    """Stop a stream of plaintext early; closing the generator closes the stored file."""
    if isinstance(chunks, Generator):
        chunks.close()


def read_head(ws: Workspace, evidence_id: str, limit: int) -> bytes:
    """At most `limit` bytes of an item's plaintext, in memory. `read_evidence` records
    the "evidence viewed" audit entry when called; stopping the stream early is safe."""
    chunks = read_evidence(ws, evidence_id)
    data = bytearray()
    try:
        for chunk in chunks:
            data += chunk[: limit - len(data)]
            if len(data) >= limit:
                break
    finally:
        _close(chunks)
    return bytes(data)


def _rendered(kind: Kind, data: bytes) -> Preview:
    """A preview made from `data` by a renderer process (`ui.preview_process`): this
    process decodes none of the evidence. A renderer that crashes, hangs or answers out
    of protocol leaves a sentence, never a broken window."""
    try:
        reply = preview_process.render(kind, PREVIEW_EDGE, data)
    except PreviewerFailed as exc:
        return Preview("none", failure_sentence(exc.failure))
    if reply.status == Status.TEXT:
        return Preview("text", text=reply.payload.decode("utf-8"))
    if reply.status == Status.NO_PDF:
        return Preview("none", "PDF previews are not available in this installation.")
    if reply.status == Status.UNREADABLE:
        if kind == Kind.PDF:
            return Preview("none", "This PDF could not be read for a preview.")
        return Preview("none", "This image could not be decoded for a preview.")
    image = preview_process.image_of(reply)
    if kind == Kind.PDF:
        return Preview("image", f"Page 1 of {reply.a}.", image=image)
    return Preview("image", f"{reply.a:,} × {reply.b:,} pixels.", image=image)


def make_preview(ws: Workspace, item: Evidence) -> Preview:
    """A preview from memory, reading only what it needs (see the module docstring)."""
    media = item.media_type.lower()
    if media.startswith("text/") or media in TEXT_MEDIA_TYPES:
        data = read_head(ws, item.id, TEXT_PREVIEW_BYTES)
        preview = _rendered(Kind.TEXT, data)
        if preview.kind == "text" and item.size > TEXT_PREVIEW_BYTES:
            preview.note = f"The first {size_text(TEXT_PREVIEW_BYTES)} of {size_text(item.size)}."
        return preview
    is_pdf = media == "application/pdf"
    if not (media.startswith("image/") or is_pdf):
        return Preview("none", NO_PREVIEW)
    if item.size > WHOLE_PREVIEW_LIMIT:
        return Preview(
            "none",
            f"This file is too large to preview here ({size_text(item.size)});"
            f" previews are made for files up to {size_text(WHOLE_PREVIEW_LIMIT)}.",
        )
    data = read_head(ws, item.id, WHOLE_PREVIEW_LIMIT)
    return _rendered(Kind.PDF if is_pdf else Kind.IMAGE, data)


def load_details(ws: Workspace, evidence_id: str, *, with_preview: bool) -> Details:
    """An item's register row and custody; its preview too when asked (audited)."""
    item = queries.get(ws.conn, Evidence, evidence_id)
    preview = None
    if with_preview:
        try:
            preview = make_preview(ws, item)
        except IntegrityError as exc:  # the register and custody still show; say why not
            preview = Preview("none", f"No preview: {sentence(str(exc))} Run Check integrity.")
    return Details(item, custody(ws, item.id), preview)


def save_fields(
    ws: Workspace, evidence_id: str, changes: dict[str, str]
) -> tuple[Details, list[Evidence]]:
    """Change register fields, then reread the item and the register."""
    update_record(ws, Evidence, evidence_id, **changes)
    details = load_details(ws, evidence_id, with_preview=False)
    return details, read_register(ws, details.item.case_id)


def _suggested_name(item: Evidence) -> str:
    """The name a save dialog offers: the original one, or the ERN when that name is not
    UTF-8 (a dialog cannot show its bytes; saving into a folder keeps them)."""
    name = copy_name(item)
    return name if is_utf8(name) else item.ern


def export_copy(
    ws: Workspace, evidence_id: str, target: Path, sink: ProgressSink, cancel: threading.Event
) -> ExportOutcome:
    """Write a verified plain copy (storage audits it and records an "exported" event)."""

    def progress(done: int, total: int) -> None:
        sink.report(done, total, f"Saving a copy to {target.name}…")

    item = export_evidence(ws, evidence_id, target, progress=progress, cancel=cancel)
    written = target / copy_name(item) if target.is_dir() else target
    return ExportOutcome(item, written, custody(ws, item.id))


def record_event(ws: Workspace, evidence_id: str, event: str, note: str) -> list[CustodyEvent]:
    """Append a custody event and return the timeline after it."""
    add_custody(ws, evidence_id, event, note=note or None)
    return custody(ws, evidence_id)


def check_integrity(
    ws: Workspace,
    case_id: CaseId,
    selected: str | None,
    sink: ProgressSink,
    cancel: threading.Event,
) -> IntegrityOutcome:
    """`verify_all` for this case: each of its stored items is re-hashed and the result
    recorded as a "verified" custody event. Other cases are left alone (their custody is
    theirs; `valise evidence verify` checks the whole workspace)."""

    def progress(done: int, total: int) -> None:
        sink.report(done, total, f"Checking item {done:,} of {total:,}…")

    sink.report(0, 0, "Checking the stored files…")
    ours = verify_all(ws, progress=progress, cancel=cancel, case_id=case_id)
    details = load_details(ws, selected, with_preview=False) if selected else None
    return IntegrityOutcome(ours, details)


# -- plain words -------------------------------------------------------------------------


def describe_integrity(outcome: IntegrityOutcome) -> str:
    """ "ok" or "MISMATCH" first, then which items, in plain words."""
    results = outcome.results
    bad = [r for r in results if not r.ok]
    if not results:
        text = "There is no evidence in this case to check."
    elif not bad:
        many = "item matches its" if len(results) == 1 else "items match their"
        text = f"Integrity ok: all {len(results):,} {many} recorded SHA-256."
    else:
        lines = [
            f"Integrity MISMATCH: {len(bad):,} of {len(results):,} items do not match"
            " their recorded SHA-256."
        ]
        for result in bad:
            lines.append(f"{result.ern}: {sentence(result.problem or 'the content changed')}")
        text = "\n".join(lines)
    return text


def event_row(event: CustodyEvent) -> tuple[str, str, str, str]:
    """When, event, who, note: one line of the custody timeline. Who is the office whose
    key signed the event first; the actor and office its author typed follow as written,
    since anyone may type any name there."""
    when = event.at.replace("T", " ").removesuffix("Z")
    typed = ", ".join(part for part in (event.actor, event.office) if part)
    who = event.signer or typed
    if event.signer and typed:
        who = f"{event.signer}; written as: {typed}"
    note = "; ".join(part for part in (event.note, event.result) if part)
    return when, event.event, who, note


# -- the custody dialog ------------------------------------------------------------------


class CustodyEventDialog(QDialog):
    """Asks for a custody event type (from the allowed values) and a note.

    `ask()` is the seam: the tab takes any callable of its shape, so tests answer without
    a modal loop.
    """

    def __init__(self, events: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a custody event")
        self.event_box = QComboBox(self)
        self.event_box.addItems(list(events))
        self.event_box.setAccessibleName("Custody event")
        self.note_edit = QPlainTextEdit(self)
        self.note_edit.setAccessibleName("Note")
        self.note_edit.setTabChangesFocus(True)
        self.note_edit.setPlaceholderText("Who, where, why: what a court would ask")
        form = QFormLayout()
        event_label = QLabel("&Event:", self)
        event_label.setBuddy(self.event_box)
        note_label = QLabel("&Note:", self)
        note_label.setBuddy(self.note_edit)
        form.addRow(event_label, self.event_box)
        form.addRow(note_label, self.note_edit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    @classmethod
    def ask(cls, parent: QWidget, events: Sequence[str]) -> tuple[str, str] | None:
        """The event and note chosen, or None when the person cancels."""
        dialog = cls(events, parent)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return None
        return dialog.event_box.currentText(), dialog.note_edit.toPlainText().strip()


# -- the widget ----------------------------------------------------------------------------


class EvidenceTab(QWidget):
    """The evidence register of one case, with adding, previews, custody and integrity.

    Threading contract: the workspace's SQLCipher connection may be used from any thread
    but never from two at once. This tab uses it only on its worker, one task at a time,
    between `busy(True)` and `busy(False)`; its buttons are disabled meanwhile (except
    Cancel). The case view must not touch the workspace while this tab is busy, and may
    again once `busy(False)` arrives. Selecting another item while busy is allowed: its
    details are read once the running task is done. `changed` is emitted (after
    `busy(False)`) whenever the tab changed the case: items added, register fields saved,
    custody events recorded (by an export, a check or by hand).

    A cancel is silent; user errors (storage's sentences) are warnings through
    `Prompts.warn`; anything else is a bug, reported with `Prompts.report_bug`.
    """

    busy = Signal(bool)
    changed = Signal()

    def __init__(
        self,
        workspace: Workspace,
        case_id: str,
        *,
        prompts: Prompts,
        runner: TaskRunner,
        parent: QWidget | None = None,
        choose_files: FilesChooser = choose_files,
        choose_save: SaveChooser = choose_save_path,
        ask_custody: CustodyAsker = CustodyEventDialog.ask,
        ask_release: ReleaseAsker = ReleaseDialog.ask,
    ) -> None:
        super().__init__(parent)
        self._ws = workspace
        self._case_id = CaseId(case_id)
        self._prompts = prompts
        self._runner = runner
        self._choose_files = choose_files
        self._choose_save = choose_save
        self._ask_custody = ask_custody
        self._ask_release = ask_release
        self._details: Details | None = None  # the item the right-hand side shows
        self._refresh_stale = True  # the register is read once the event loop runs
        self._details_stale = False
        self._restoring = False  # reselecting after a reread: the details are current
        self.setAccessibleName(TITLE)
        self.setAcceptDrops(True)
        self._build()
        self._update_controls()
        QTimer.singleShot(0, self, self.refresh)

    # -- building ------------------------------------------------------------------------

    def _button(self, text: str, name: str, tip: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setAccessibleName(name)
        button.setToolTip(tip)
        return button

    def _label(self, name: str) -> QLabel:
        label = QLabel(self)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        label.setAccessibleName(name)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    def _build(self) -> None:
        self.add_button = self._button(
            "&Add evidence…", "Add evidence", "Add files to this case (or drop them on the tab)"
        )
        self.add_button.clicked.connect(self.choose_and_add)
        self.check_button = self._button(
            "Chec&k integrity",
            "Check integrity",
            "Re-hash every stored file and compare it with its recorded SHA-256",
        )
        self.check_button.clicked.connect(self.check_integrity)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setAccessibleName("Progress")
        self.progress_label = self._label("What is being done")
        self.cancel_button = self._button("Cancel", "Cancel", "Stop the work at the next step")
        self._work = CancellableWork(
            self,
            self._runner,
            self._prompts,
            title=TITLE,
            progress_bar=self.progress_bar,
            progress_label=self.progress_label,
            cancel_button=self.cancel_button,
            on_busy=self.busy.emit,
            on_idle=self._on_idle,
            file_advice="Check the file or folder, then try again.",
        )
        self.cancel_button.clicked.connect(self.cancel)
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        escape.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        escape.activated.connect(self.cancel)
        self.status_label = self._label("Result")
        self.status_label.setText("Drop files here or choose Add evidence… to add them.")

        top = QHBoxLayout()
        top.addWidget(self.add_button)
        top.addWidget(self.check_button)
        top.addStretch(1)
        top.addWidget(self.progress_label)
        top.addWidget(self.progress_bar)
        top.addWidget(self.cancel_button)

        self.model = EvidenceModel(self)
        self.table = QTableView(self)
        self.table.setAccessibleName("Evidence items")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.resizeSection(EvidenceModel.ERN, 150)
        header.resizeSection(EvidenceModel.TITLE, 200)
        self.table.selectionModel().selectionChanged.connect(self._on_selection)

        self.details_tabs = QTabWidget(self)
        self.details_tabs.setAccessibleName("Item details")
        self.details_tabs.addTab(self._build_register(), "&Register")
        self.details_tabs.addTab(self._build_preview(), "Previe&w")
        self.details_tabs.addTab(self._build_custody(), "Custo&dy")

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details_tabs)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status_label)
        layout.addWidget(splitter, 1)
        self._work.show_progress(False)

    def _build_register(self) -> QWidget:
        page = QWidget(self)
        self.ern_label = self._label("ERN")
        self.file_label = self._label("Original file")
        self.hash_label = self._label("SHA-256")
        # A file name without spaces wraps nowhere: the form gives it the width there is
        # (it may be cut; the whole name is selectable), not the width it asks.
        self.file_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title_edit = QLineEdit(page)
        self.title_edit.setAccessibleName("Title")
        self.type_box = QComboBox(page)
        self.type_box.setAccessibleName("Type")
        self.type_box.addItems(list(EVIDENCE_TYPES))
        self.description_edit = QPlainTextEdit(page)
        self.description_edit.setAccessibleName("Description")
        self.description_edit.setTabChangesFocus(True)
        self.source_edit = QLineEdit(page)
        self.source_edit.setAccessibleName("Source")
        self.method_box = QComboBox(page)
        self.method_box.setAccessibleName("Collection method")
        self.method_box.addItems(list(COLLECTION_METHODS))
        self.location_edit = QLineEdit(page)
        self.location_edit.setAccessibleName("Collection location")
        self.classification_box = QComboBox(page)
        self.classification_box.setAccessibleName("Classification")
        self.classification_box.addItems(list(CLASSIFICATIONS))
        self.save_button = self._button(
            "Sa&ve", "Save register fields", "Save the changed register fields"
        )
        self.save_button.clicked.connect(self.save_fields)
        self.export_button = self._button(
            "Save a &copy…",
            "Save a copy",
            "Write a plain, verified copy to a file (recorded in the custody timeline)",
        )
        self.export_button.clicked.connect(self.save_copy)
        self.release_button = self._button(
            "Release…",  # every letter of it is taken in this tab: reached with Tab
            "Release to a partner",
            "Let an NGO or defence peer receive this item (recorded in its custody)",
        )
        self.release_button.clicked.connect(self.release_selected)

        form = QFormLayout()
        form.addRow("ERN:", self.ern_label)
        form.addRow("File:", self.file_label)
        form.addRow("SHA-256:", self.hash_label)
        for text, editor in (
            ("T&itle:", self.title_edit),
            ("T&ype:", self.type_box),
            ("Descri&ption:", self.description_edit),
            ("Sourc&e:", self.source_edit),
            ("Collection &method:", self.method_box),
            ("Collection &location:", self.location_edit),
            ("Classificatio&n:", self.classification_box),
        ):
            label = QLabel(text, page)
            label.setBuddy(editor)
            form.addRow(label, editor)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.release_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(page)
        layout.addLayout(form)
        layout.addLayout(buttons)
        return page

    def _build_preview(self) -> QWidget:
        page = QWidget(self)
        self.preview_note = self._label("About the preview")
        self.preview_image = QLabel(page)
        self.preview_image.setAccessibleName("Image preview")
        self.preview_image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        scroll = QScrollArea(page)
        scroll.setWidget(self.preview_image)
        scroll.setWidgetResizable(True)
        self.preview_scroll = scroll
        self.preview_text = QPlainTextEdit(page)
        self.preview_text.setAccessibleName("Text preview")
        self.preview_text.setReadOnly(True)
        self.preview_text.setTabChangesFocus(True)
        layout = QVBoxLayout(page)
        layout.addWidget(self.preview_note)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.preview_text, 1)
        self._show_preview(Preview("none", "Select an item to preview it."))
        return page

    def _build_custody(self) -> QWidget:
        page = QWidget(self)
        self.timeline = QTableWidget(0, 4, page)
        self.timeline.setAccessibleName("Custody timeline")
        self.timeline.setHorizontalHeaderLabels(["When (UTC)", "Event", "Who", "Note"])
        self.timeline.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.timeline.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.timeline.setTabKeyNavigation(False)
        self.timeline.verticalHeader().hide()
        self.timeline.horizontalHeader().setStretchLastSection(True)
        self.add_event_button = self._button(
            "Add &event…", "Add a custody event", "Record a handling step of this item"
        )
        self.add_event_button.clicked.connect(self.add_event)
        layout = QVBoxLayout(page)
        layout.addWidget(self.timeline, 1)
        row = QHBoxLayout()
        row.addWidget(self.add_event_button)
        row.addStretch(1)
        layout.addLayout(row)
        return page

    # -- state ---------------------------------------------------------------------------

    @property
    def is_busy(self) -> bool:
        """True between `busy(True)` and `busy(False)`."""
        return self._work.running

    @property
    def is_idle(self) -> bool:
        """True when no task runs and none waits (a reread or details asked for while
        busy): the case view and tests may use the workspace then."""
        return not self._work.running and not (self._refresh_stale or self._details_stale)

    def selected_id(self) -> str | None:
        """The id of the selected item, or None."""
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        value = rows[0].data(EvidenceIdRole)
        return str(value) if value else None

    def select(self, evidence_id: str) -> bool:
        """Select an item by id (its details load on the worker); False when not listed."""
        row = self.model.row_of(evidence_id)
        if row < 0:
            return False
        self.table.selectRow(row)
        return True

    @property
    def details(self) -> Details | None:
        """The item shown on the right, as last read."""
        return self._details

    def _update_controls(self) -> None:
        idle = not self._work.running
        shown = self._details is not None
        self.add_button.setEnabled(idle)
        self.check_button.setEnabled(idle and self.model.rowCount() > 0)
        for widget in (
            self.save_button,
            self.export_button,
            self.release_button,
            self.add_event_button,
        ):
            widget.setEnabled(idle and shown)
        for editor in (
            self.title_edit,
            self.type_box,
            self.description_edit,
            self.source_edit,
            self.method_box,
            self.location_edit,
            self.classification_box,
        ):
            editor.setEnabled(shown)

    # -- running tasks -------------------------------------------------------------------

    def _start(
        self,
        work: CancellableJob,
        on_finished: Callable[[Any], None],
        on_cancelled: Callable[[Any], None] = lambda _late: None,
        *,
        title: str,
        cancellable: bool = True,
    ) -> bool:
        """Run `work` on the worker with `busy` raised; False while another task runs."""
        started = self._work.start(
            work, on_finished, on_cancelled, title=title, cancellable=cancellable
        )
        if started:
            self._update_controls()
        return started

    def _on_idle(self) -> None:
        self._update_controls()
        QTimer.singleShot(0, self, self._catch_up)

    @Slot()
    def _catch_up(self) -> None:
        """Do what was asked for while busy: reread the register, or an item's details."""
        if self._work.running:
            return
        if self._refresh_stale:
            self.refresh()
        elif self._details_stale:
            self._load_selected()

    @Slot()
    def cancel(self) -> None:
        """Ask the running work to stop; silent, and nothing half-done is kept."""
        self._work.cancel()

    # -- the register --------------------------------------------------------------------

    @Slot()
    def refresh(self) -> bool:
        """Reread the case's items (on the worker); done later when busy."""
        ws, case_id = self._ws, self._case_id
        started = self._start(
            lambda _token, _sink, _cancel: read_register(ws, case_id),
            self._set_rows,
            title=TITLE,
            cancellable=False,
        )
        self._refresh_stale = not started
        return started

    def _set_rows(self, rows: list[Evidence]) -> None:
        """Show `rows`, keeping the selected item selected (without reading it again)."""
        keep = self.selected_id() or (self._details.item.id if self._details else None)
        self._restoring = True
        try:
            self.model.set_rows(rows)
            if keep is not None and self.model.row_of(keep) >= 0:
                self.table.selectRow(self.model.row_of(keep))
        finally:
            self._restoring = False
        if self._details is not None and self.model.row_of(self._details.item.id) < 0:
            self._show_details(None)  # the item shown is no longer in the case
        if self.selected_id() is None and self.model.rowCount():
            # As the persons tab: the first item's register (and Release…) at once; with
            # nothing selected every field and button was disabled, and a person's Tab
            # from the tab bar reached Add evidence instead (e2e walk).
            self.table.selectRow(0)
        self._update_controls()

    @Slot(QItemSelection, QItemSelection)
    def _on_selection(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        if not self._restoring:
            self._load_selected()

    def _load_selected(self) -> None:
        evidence_id = self.selected_id()
        self._details_stale = False
        if evidence_id is None:
            self._show_details(None)
            return
        if self._details is not None and self._details.item.id == evidence_id:
            return
        ws = self._ws
        started = self._start(
            lambda _token, _sink, _cancel: load_details(ws, evidence_id, with_preview=True),
            self._show_loaded,
            title=TITLE,
            cancellable=False,
        )
        if not started:
            self._details_stale = True
            self._show_preview(Preview("none", "The preview follows when the work is done."))

    def _show_loaded(self, details: Details) -> None:
        if details.item.id != self.selected_id():
            self._details_stale = True  # the selection moved on while it was read
        self._show_details(details)

    def _show_details(self, details: Details | None) -> None:
        self._details = details
        item = details.item if details else None
        self.ern_label.setText(item.ern if item else "")
        self.file_label.setText(
            f"{item.original_name} ({item.media_type}, {size_text(item.size)})" if item else ""
        )
        self.hash_label.setText(grouped_digest(item.sha256) if item else "")
        self.hash_label.setToolTip(item.sha256 if item else "")
        self.hash_label.setAccessibleDescription(item.sha256 if item else "")
        self.title_edit.setText(item.title if item else "")
        self._choose(self.type_box, item.type if item else "")
        self.description_edit.setPlainText(item.description if item else "")
        self.source_edit.setText(item.source if item else "")
        self._choose(self.method_box, item.collection_method if item else "")
        self.location_edit.setText(item.collection_location if item else "")
        self._choose(self.classification_box, item.classification if item else "")
        self._show_events(details.events if details else [])
        if details is None:
            self._show_preview(Preview("none", "Select an item to preview it."))
        elif details.preview is not None:
            self._show_preview(details.preview)
        self._update_controls()

    @staticmethod
    def _choose(box: QComboBox, value: str) -> None:
        index = box.findText(value)
        if index < 0 and value:
            box.addItem(value)  # a value from an older version stays visible as it is
            index = box.count() - 1
        box.setCurrentIndex(max(index, 0))

    def _show_events(self, events: Sequence[CustodyEvent]) -> None:
        self.timeline.setRowCount(len(events))
        for row, event in enumerate(events):
            for column, text in enumerate(event_row(event)):
                cell = QTableWidgetItem(text)
                cell.setToolTip(text)
                self.timeline.setItem(row, column, cell)
        self.timeline.resizeColumnsToContents()
        self.timeline.horizontalHeader().setStretchLastSection(True)

    def _show_preview(self, preview: Preview) -> None:
        self.preview_note.setText(preview.note)
        self.preview_note.setVisible(bool(preview.note))
        if preview.kind == "image" and preview.image is not None:
            self.preview_image.setPixmap(QPixmap.fromImage(preview.image))
        else:
            self.preview_image.clear()
        self.preview_scroll.setVisible(preview.kind == "image")
        self.preview_text.setPlainText(preview.text if preview.kind == "text" else "")
        self.preview_text.setVisible(preview.kind == "text")

    def preview_pixmap(self) -> QPixmap:
        """The image shown in the preview (null when none is)."""
        return self.preview_image.pixmap()

    def preview_plain_text(self) -> str:
        """The text shown in the preview ("" when none is)."""
        return "" if self.preview_text.isHidden() else self.preview_text.toPlainText()

    def preview_message(self) -> str:
        """The sentence above the preview."""
        return self.preview_note.text()

    # -- adding --------------------------------------------------------------------------

    @Slot()
    def choose_and_add(self) -> bool:
        """Ask for files and add them; False when nothing was started."""
        if self._work.running:
            return False
        files = self._choose_files(self, "Add evidence to this case")
        if not files:
            return False  # a cancel is silent
        return self.add_files(files)

    def add_files(self, files: Sequence[Path]) -> bool:
        """Add `files` on the worker (hashing and encryption), with progress and Cancel."""
        if self._work.running:
            self._prompts.warn(
                self, "Add evidence", "Wait for the current work to finish, then add the files."
            )
            return False
        ws, case_id, paths = self._ws, self._case_id, list(files)
        self.status_label.setText("")
        started = self._start(
            lambda _token, sink, cancel: add_files(ws, case_id, paths, sink, cancel),
            self._show_added,
            self._show_cancelled_add,
            title="Add evidence",
        )
        if started:
            self.cancel_button.setFocus()
        return started

    def _show_added(self, outcome: AddOutcome) -> None:
        self._set_rows(outcome.rows)
        count = len(outcome.added)
        if count:
            self.status_label.setText(
                f"Added {count:,} {'item' if count == 1 else 'items'}, hashed and encrypted."
            )
            # `changed` first, while idle: the case view may read the workspace in its slot.
            self.changed.emit()
            self.select(outcome.added[-1])
        if outcome.problems:
            self._prompts.warn(self, "Add evidence", "\n".join(outcome.problems))

    def _show_cancelled_add(self, late: object) -> None:
        if isinstance(late, AddOutcome) and late.added:
            self._show_added(late)  # items finished before the cancel took effect stay
            return
        self.status_label.setText("Adding cancelled. Nothing was added.")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Files from this computer may be dropped to add them."""
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        """Add the dropped files, as "Add evidence…" would."""
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        files = [Path(url.toLocalFile()) for url in urls if url.isLocalFile()]
        if not files:
            event.ignore()
            return
        event.acceptProposedAction()
        self.add_files(files)

    # -- register fields -----------------------------------------------------------------

    def edited_fields(self) -> dict[str, str]:
        """The register fields changed in the form, against the item as last read."""
        if self._details is None:
            return {}
        item = self._details.item
        form = {
            "title": self.title_edit.text().strip(),
            "type": self.type_box.currentText(),
            "description": self.description_edit.toPlainText(),
            "source": self.source_edit.text().strip(),
            "collection_method": self.method_box.currentText(),
            "collection_location": self.location_edit.text().strip(),
            "classification": self.classification_box.currentText(),
        }
        return {name: value for name, value in form.items() if getattr(item, name) != value}

    @Slot()
    def save_fields(self) -> bool:
        """Save the changed register fields (on the worker)."""
        if self._work.running or self._details is None:
            return False
        changes = self.edited_fields()
        if not changes:
            self.status_label.setText("Nothing to save: no register field was changed.")
            return False
        if "title" in changes and not changes["title"]:
            self._prompts.warn(self, "Save", "An item needs a title. Type one, then save.")
            return False
        ws, evidence_id = self._ws, self._details.item.id
        return self._start(
            lambda _token, _sink, _cancel: save_fields(ws, evidence_id, changes),
            self._show_saved,
            title="Save register fields",
            cancellable=False,
        )

    def _show_saved(self, outcome: tuple[Details, list[Evidence]]) -> None:
        details, rows = outcome
        details.preview = None  # the preview shown is still right
        self._details = details
        self._set_rows(rows)
        self._show_details(details)
        self.status_label.setText(f"Saved the register fields of {details.item.ern}.")
        self.changed.emit()

    # -- export --------------------------------------------------------------------------

    @Slot()
    def save_copy(self) -> bool:
        """Write a plain copy where the person chooses, after saying it is not encrypted."""
        if self._work.running or self._details is None:
            return False
        item = self._details.item
        if not self._prompts.confirm(
            self,
            "Save a copy",
            f"Save a plain copy of {item.ern}? The copy is not encrypted: anyone who can open"
            " the folder you choose can read it. The export is recorded in the item's custody"
            " timeline.",
        ):
            return False
        target = self._choose_save(self, "Save a copy of the evidence", _suggested_name(item))
        if target is None:
            return False
        ws = self._ws
        return self._start(
            lambda _token, sink, cancel: export_copy(ws, item.id, target, sink, cancel),
            self._show_exported,
            lambda _late: self.status_label.setText("Saving cancelled. No copy was written."),
            title="Save a copy",
        )

    def _show_exported(self, outcome: ExportOutcome) -> None:
        if self._details is not None and self._details.item.id == outcome.item.id:
            self._details.events = outcome.events
            self._show_events(outcome.events)
        self.status_label.setText(
            f"Saved a verified copy of {outcome.item.ern} to {outcome.target}. The export is"
            " recorded in its custody timeline."
        )
        self.changed.emit()

    # -- custody -------------------------------------------------------------------------

    @Slot()
    def add_event(self) -> bool:
        """Ask for a custody event and record it (on the worker)."""
        if self._work.running or self._details is None:
            return False
        answer = self._ask_custody(self, MANUAL_CUSTODY_EVENTS)
        if answer is None:
            return False
        event, note = answer
        ws, evidence_id = self._ws, self._details.item.id
        return self._start(
            lambda _token, _sink, _cancel: record_event(ws, evidence_id, event, note),
            lambda events: self._show_new_events(evidence_id, events),
            title="Add a custody event",
            cancellable=False,
        )

    def _show_new_events(self, evidence_id: str, events: list[CustodyEvent]) -> None:
        if self._details is not None and self._details.item.id == evidence_id:
            self._details.events = events
            self._show_events(events)
        self.changed.emit()

    # -- releases ------------------------------------------------------------------------

    @Slot()
    def release_selected(self) -> bool:
        """Read to whom the selected item may go (on the worker), ask, then record the
        release (on the worker); False when nothing was started."""
        if self._work.running or self._details is None:
            return False
        ws, evidence_id = self._ws, self._details.item.id
        return self._start(
            lambda _token, _sink, _cancel: read_release_options(ws, evidence_id),
            self._ask_and_release,
            title="Release",
            cancellable=False,
        )

    def _ask_and_release(self, options: ReleaseOptions) -> None:
        choice = self._ask_release(self, options.item, options.targets, options.blocked)
        if choice is None:
            return  # a cancel is silent
        ws = self._ws
        started = self._start(
            lambda _token, _sink, _cancel: release(ws, options.item.id, choice),
            self._show_released,
            title="Release",
            cancellable=False,
        )
        if not started:
            self._prompts.warn(
                self, "Release", "Wait for the current work to finish, then release again."
            )

    def _show_released(self, outcome: ReleaseOutcome) -> None:
        self._show_new_events(outcome.item.id, outcome.events)
        self.status_label.setText(outcome.sentence)

    # -- integrity -----------------------------------------------------------------------

    @Slot()
    def check_integrity(self) -> bool:
        """Re-hash the stored files (on the worker) and say plainly what was found."""
        ws, case_id = self._ws, self._case_id
        selected = self._details.item.id if self._details else None
        self.status_label.setText("Checking integrity…")
        started = self._start(
            lambda _token, sink, cancel: check_integrity(ws, case_id, selected, sink, cancel),
            self._show_integrity,
            lambda _late: self.status_label.setText(
                "Integrity check cancelled. Nothing was recorded."
            ),
            title="Check integrity",
        )
        if started:
            self.cancel_button.setFocus()
        return started

    def _show_integrity(self, outcome: IntegrityOutcome) -> None:
        text = describe_integrity(outcome)
        self.status_label.setText(text)
        details = outcome.details
        shown = self._details
        if details is not None and shown is not None and details.item.id == shown.item.id:
            shown.events = details.events
            self._show_events(details.events)
        if outcome.results:
            self.changed.emit()
        if any(not r.ok for r in outcome.results):
            self._prompts.warn(self, "Check integrity", text)

    def integrity_text(self) -> str:
        """The last result line(s) shown above the list."""
        return self.status_label.text()
