"""The sync center: bundles on a stick in, bundles for peers out, or both in one step.

A person chooses a stick (or any folder); the bundles found there are listed with their
sender, the time they were written, their size and whether they verified. "Verified" is
earned: the listing calls `sync.importer.inspect_bundle`, which decrypts every part and
checks every digest and signature (staged evidence is dropped again), so a byte flipped in
any part shows as a refusal before anything is imported. Import, export and `sync usb` are
the library's own functions (`sync.importer`, `sync.export`, `sync.usb`), run on a worker
through the `TaskRunner`, with progress and (where the library can stop) Cancel; what they
did is summarised in plain words below.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QBoxLayout,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from storage import queries
from storage.blobs import Cancelled as StorageCancelled
from storage.records import Case
from storage.workspace import Workspace
from sync.errors import SyncError
from sync.export import ExportResult, ExportRun, export_bundles, has_news_for
from sync.importer import ImportReport, find_heads, import_bundle, import_paths, inspect_bundle
from sync.peer_state import UNVERIFIED, export_refusal
from sync.peers import Peer, list_peers
from sync.usb import UsbOutcome, sync_usb
from ui.cancellable_work import PROGRESS_STEPS, CancellableJob, CancellableWork
from ui.models.bundle_model import (
    BundleModel,
    BundleRow,
    refusal_words,
    row_from_inspection,
    size_text,
    unreadable_row,
    when_written,
)
from ui.models.peer_model import role_label
from ui.peers_view import sentence
from ui.prompts import Prompts
from ui.tasks import Cancelled as TaskCancelled
from ui.tasks import CancelToken, ProgressSink, TaskRunner

TITLE = "Sync center"
# Narrowest line a sentence of the centre may wrap to, in average characters, and a peer
# the list of peers shows on one line.
LABEL_MIN_CHARS = 28
TYPICAL_PEER = "Mirani field office (Office): has news"
SIDE_BY_SIDE_CHARS = 130  # the stick and the peers side by side from this width up
PeerOriginRole = Qt.ItemDataRole.UserRole + 1

FolderChooser = Callable[[QWidget, str], Path | None]


def choose_folder(parent: QWidget, caption: str) -> Path | None:
    """Ask for a folder with the platform's dialog; None when the person cancels."""
    name = QFileDialog.getExistingDirectory(parent, caption)
    return Path(name) if name else None


# -- work done on the worker thread (the only place the sync center uses the database) ---


@dataclass(frozen=True)
class PeerChoice:
    """A peer offered for export, and whether a bundle for it would carry anything new."""

    peer: Peer
    news: bool
    refusal: str = ""  # why nothing may be written for it (revoked, on probation), or ""


@dataclass
class ScanOutcome:
    """The bundles found in a folder, as table rows."""

    folder: Path
    rows: list[BundleRow]


@dataclass
class ImportOutcome:
    """What an import did, bundle by bundle, and what the peers list looks like after it."""

    reports: list[ImportReport] = field(default_factory=list)
    case_names: dict[str, str] = field(default_factory=dict)
    peers: list[PeerChoice] = field(default_factory=list)
    cancelled: bool = False


@dataclass
class ExportOutcome:
    """The bundles written (one per group of peers that may see the same things), and the
    peers list after them (their news was sent)."""

    run: ExportRun
    peers: list[PeerChoice]
    office_name: str = ""


@dataclass
class SyncOutcome:
    """Both directions of `sync usb`, and the folder as it is afterwards."""

    usb: UsbOutcome
    case_names: dict[str, str]
    peers: list[PeerChoice]
    rows: list[BundleRow]


def peer_choices(ws: Workspace) -> list[PeerChoice]:
    """Every peer with whether it has news, or why nothing may be written for it
    (sync.peer_state); `has_news_for` plans a whole bundle, so this runs on the worker."""
    choices = []
    for peer in list_peers(ws):
        refusal = export_refusal(ws, peer)
        if refusal is not None:
            choices.append(PeerChoice(peer, False, refusal))
        else:
            choices.append(PeerChoice(peer, has_news_for(ws, peer)))
    return choices


def scan_folder(ws: Workspace, folder: Path, token: CancelToken, sink: ProgressSink) -> ScanOutcome:
    """Find the bundles in `folder` and verify each in full (see the module docstring)."""
    heads = find_heads([folder])
    rows: list[BundleRow] = []
    for number, head in enumerate(heads, start=1):
        token.raise_if_cancelled()
        sink.report(number - 1, len(heads), f"Checking bundle {number} of {len(heads)}…")
        try:
            rows.append(row_from_inspection(head, inspect_bundle(ws, head)))
        except SyncError as exc:  # the stick went away, the disk is full: say so per row
            rows.append(unreadable_row(head, sentence(str(exc))))
    sink.report(len(heads), len(heads), "")
    return ScanOutcome(folder, rows)


def case_names(ws: Workspace, reports: Sequence[ImportReport]) -> dict[str, str]:
    """Reference and title of every case the reports touched, for the summary."""
    names: dict[str, str] = {}
    for report in reports:
        for case_id in sorted(report.cases):
            try:
                case = queries.get(ws.conn, Case, case_id)
            except Exception:  # a case we may not read (withdrawn, say) is named by its id
                names[case_id] = case_id
                continue
            names[case_id] = f"{case.reference} “{case.title}”" if case.reference else case.title
    return names


def import_heads(
    ws: Workspace,
    heads: Sequence[Path],
    token: CancelToken,
    sink: ProgressSink,
    cancel: threading.Event,
) -> ImportOutcome:
    """Import each bundle in turn (each all or nothing), then retry bundles parked earlier.

    A cancel stops at the next part or between bundles; the bundle being read is left out
    whole and the bundles already imported stay imported, so the outcome says which.
    """
    outcome = ImportOutcome()

    def progress_for(text: str) -> Callable[[int, int], None]:
        def progress(done: int, total: int) -> None:
            sink.report(done, total, text)
            if cancel.is_set():  # the library checks between parts; this also stops
                raise StorageCancelled()  # after the last part, before anything is applied

        return progress

    try:
        for number, head in enumerate(heads, start=1):
            if cancel.is_set():
                raise StorageCancelled()
            text = f"Importing bundle {number} of {len(heads)}…"
            sink.report(0, 0, text)
            outcome.reports.append(import_bundle(ws, head, progress_for(text), cancel))
        # Bundles kept earlier because their sender was unknown, if it is known now.
        outcome.reports.extend(
            import_paths(ws, [], progress_for("Importing bundles kept earlier…"), cancel)
        )
    except (StorageCancelled, TaskCancelled):
        outcome.cancelled = True
    sink.report(0, 0, "Summarising…")
    outcome.case_names = case_names(ws, outcome.reports)
    outcome.peers = peer_choices(ws)
    return outcome


def export_for(
    ws: Workspace,
    peers: Sequence[Peer],
    folder: Path,
    sink: ProgressSink,
    cancel: threading.Event,
) -> ExportOutcome:
    """Write one bundle per group of `peers` that may see the same things into `folder`;
    the library stops on a cancel and deletes the bundle it was writing."""

    def progress(done: int, total: int) -> None:
        sink.report(done, total, "Writing the bundle…")

    sink.report(0, 0, "Choosing what goes in…")
    run = export_bundles(ws, peers, folder, progress=progress, cancel=cancel)
    return ExportOutcome(run, peer_choices(ws), ws.office_name)


def sync_with(
    ws: Workspace,
    folder: Path,
    token: CancelToken,
    sink: ProgressSink,
    cancel: threading.Event | None = None,
) -> SyncOutcome:
    """`sync usb`, then the folder listed again (imported bundles may have left it)."""
    sink.report(0, 0, "Syncing with the stick…")

    def progress(done: int, total: int) -> None:
        sink.report(done, total, "Syncing with the stick…")

    usb = sync_usb(ws, folder, progress, cancel)
    names = case_names(ws, usb.imported)
    choices = peer_choices(ws)
    sink.report(0, 0, "Listing the stick again…")
    rows = scan_folder(ws, folder, token, sink).rows
    return SyncOutcome(usb, names, choices, rows)


# -- plain words -------------------------------------------------------------------------


def _count(number: int, one: str, many: str | None = None) -> str:
    return f"{number:,} {one if number == 1 else (many or one + 's')}"


def describe_report(report: ImportReport, names: dict[str, str]) -> str:
    """What one bundle did, in a few plain lines (the sentences come from the library)."""
    who = f" from {report.sender}" if report.sender else ""
    when = f", written {when_written(report.created)}" if report.created else ""
    heading = f"{report.head.name}{who}{when}"
    if report.status == "imported":
        lines = [f"{heading}: imported."]
        if report.cases:
            cases = "; ".join(names.get(c, c) for c in sorted(report.cases))
            lines.append(f"  {_count(len(report.cases), 'case')}: {cases}.")
        conflicts = (
            _count(report.conflicts, "new conflict") + " to settle"
            if report.conflicts
            else "no new conflicts"
        )
        lines.append(
            f"  {_count(report.changesets, 'changeset')},"
            f" {_count(report.evidence, 'evidence file')}, {conflicts}."
        )
        if report.duplicates:
            lines.append(f"  {_count(report.duplicates, 'changeset')} were already here.")
        if report.unparked:
            lines.append(
                f"  {_count(report.unparked, 'changeset')} parked earlier could now be applied."
            )
        if report.released:
            lines.append(
                f"  {_count(report.released, 'changeset')} held back earlier could now be"
                " applied: a grant that arrived allows them."
            )
        if report.parked:
            lines.append(
                f"  {_count(report.parked, 'changeset')} parked until what they build on"
                f" arrives ({'; '.join(report.parked_reasons)})."
            )
        if report.quarantined:
            lines.append(
                f"  {_count(report.quarantined, 'changeset')} held back and not applied"
                f" ({'; '.join(report.quarantine_reasons)})."
            )
        lines.extend(f"  {sentence}" for sentence in report.not_taken)
        return "\n".join(lines)
    if report.status == "refused":
        return (
            f"{heading}: refused ({refusal_words(report.reason)}). {sentence(report.message)}"
            " Nothing of it was imported; ask the sender for a new bundle."
        )
    if report.status == "failed":
        return f"{heading}: not imported. {sentence(report.message)}"
    if report.status == "parked":
        return f"{heading}: kept aside, not yet read. {sentence(report.message)}"
    if report.status == "already imported":
        return f"{heading}: imported before; nothing changed."
    if report.status == "not for us":
        return f"{heading}: addressed to other offices; it stays on the stick for them."
    if report.status == "ours":
        return f"{heading}: written by this installation; nothing to import."
    return f"{heading}: {report.status}. {sentence(report.message)}".rstrip()


def describe_import(reports: Sequence[ImportReport], names: dict[str, str]) -> str:
    """A headline and a paragraph per bundle."""
    imported = [r for r in reports if r.status == "imported"]
    refused = [r for r in reports if r.status in ("refused", "failed")]
    if not reports:
        headline = "No bundles were imported."
    else:
        headline = f"Imported {len(imported):,} of {_count(len(reports), 'bundle')}."
        if imported:
            cases = set().union(*(r.cases for r in imported))
            headline += (
                f" {_count(sum(r.changesets for r in imported), 'changeset')} in"
                f" {_count(len(cases), 'case')},"
                f" {_count(sum(r.evidence for r in imported), 'evidence file')},"
                f" {_count(sum(r.conflicts for r in imported), 'new conflict')}."
            )
        held = sum(r.quarantined for r in imported)
        if held:  # said first, not only in a bundle's paragraph further down
            headline += (
                f" {_count(held, 'change')} {'was' if held == 1 else 'were'} held back and"
                " not applied: see Sync › Held back… (Ctrl+Shift+H)."
            )
        if refused:
            headline += f" {_count(len(refused), 'bundle')} could not be imported."
    return "\n\n".join([headline, *(describe_report(r, names) for r in reports)])


def describe_export(result: ExportResult) -> str:
    """Where the bundle went and what it holds."""
    offices = ", ".join(p.office_name for p in result.recipients)
    return (
        f"Wrote a bundle for {offices}: {_count(result.changesets, 'changeset')} in"
        f" {_count(len(result.cases), 'case')}, {_count(result.evidence, 'evidence file')}"
        f" ({size_text(result.evidence_bytes)} of evidence), {size_text(result.bytes_written)}"
        f" in {_count(len(result.parts), 'part')}.\nIts head file is {result.head}"
    )


def _row_after_import(row: BundleRow, report: ImportReport) -> BundleRow:
    """The listing updated with what importing found (the stick may have changed)."""
    if report.status == "imported":
        state, text = "already imported", "imported now"
    elif report.status == "already imported":
        state, text = "already imported", "already imported"
    elif report.status == "refused":
        state, text = "refused", refusal_words(report.reason)
    elif report.status == "parked" and report.reason == UNVERIFIED:
        state, text = "sender not verified", "kept aside: sender not verified"
    elif report.status == "parked":
        state, text = "unknown sender", "kept aside: unknown sender"
    elif report.status == "failed":
        state, text = "unreadable", "could not be read"
    else:
        return row
    return BundleRow(
        row.head, row.sender, row.created, row.parts, row.size, state, text, report.message
    )


# -- the widget ----------------------------------------------------------------------------


class SyncCenter(QWidget):
    """Choose a stick, list and import its bundles, export for peers, or sync in one step.

    Threading contract: the workspace's SQLCipher connection may be used from any thread
    but never from two at once. The sync center uses it only on its worker, and only
    between `busy(True)` and `busy(False)`; meanwhile its own controls are disabled (except
    Cancel). The main window must not touch the workspace while busy (block editing and
    anything that reads the database), and may again once `busy(False)` arrives.
    `imported(reports)` is emitted after `busy(False)` whenever something came in, so the
    main window can refresh its case list and conflicts then. `is_busy` says the same as the
    last `busy` signal. Reading the peers and whether they have news is such a task too: it
    starts once the event loop runs after construction, and again inside every other task.

    A cancel is silent; user errors (the library's `SyncError` sentences) are warnings
    through `Prompts.warn`; anything else is a bug, reported with `Prompts.report_bug`.
    """

    busy = Signal(bool)
    imported = Signal(object)  # list[ImportReport]
    exported = Signal(object)  # ExportResult
    reviewRequested = Signal()  # "Review incoming changes" after an import

    def __init__(
        self,
        workspace: Workspace,
        runner: TaskRunner,
        prompts: Prompts,
        parent: QWidget | None = None,
        *,
        choose: FolderChooser = choose_folder,
    ) -> None:
        super().__init__(parent)
        self._ws = workspace
        self._runner = runner
        self._prompts = prompts
        self._choose = choose
        self._folder: Path | None = None
        self._peer_choices: list[PeerChoice] = []
        self._peers_stale = True  # the peer list (and who has news) needs rereading
        self.setAccessibleName(TITLE)

        # From a stick.
        self.choose_button = self._button(
            "&Choose a stick or folder…",
            "Choose a stick or folder",
            "List the bundles on a stick or in any folder",
        )
        self.folder_label = self._label("Chosen folder")
        self.folder_label.setMinimumWidth(0)  # a path: it wraps nowhere, so it may be cut
        self.folder_label.setText("No stick or folder chosen yet.")
        self.model = BundleModel(self)
        self.table = QTableView(self)
        self.table.setAccessibleName("Bundles found")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in (
            (BundleModel.SENDER, 150),
            (BundleModel.STATE, 115),
            (BundleModel.WRITTEN, 145),
            (BundleModel.SIZE, 80),
            (BundleModel.PARTS, 50),
        ):
            header.resizeSection(column, width)
        self.listing_label = self._label("About the bundles found")
        self.listing_label.setText("Choose a stick or folder to list the bundles on it.")
        self.import_button = self._button(
            "&Import", "Import the bundles", "Import the bundles listed (each is checked again)"
        )
        self.sync_button = self._button(
            "S&ync with this stick",
            "Sync with this stick",
            "Import what is for us, then write a bundle for every peer with news",
        )

        # To peers.
        self.peer_list = QListWidget(self)
        self.peer_list.setAccessibleName("Peers to write a bundle for")
        self.peer_list.setWordWrap(True)
        self.peer_list.setToolTip("Tick the peers the bundle is for (Space ticks)")
        self.export_button = self._button(
            "&Export for the ticked peers",
            "Export for the ticked peers",
            "Write one bundle for the ticked peers into the chosen folder",
        )

        # Progress and outcome.
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setAccessibleName("Progress")
        self.progress_bar.setRange(0, PROGRESS_STEPS)
        self.progress_label = self._label("What is being done")
        self.cancel_button = self._button("Cancel", "Cancel", "Stop the work at the next step")
        self._work = CancellableWork(
            self,
            runner,
            prompts,
            title=TITLE,
            progress_bar=self.progress_bar,
            progress_label=self.progress_label,
            cancel_button=self.cancel_button,
            on_busy=self.busy.emit,
            on_idle=self._on_idle,
            file_advice="Check that the stick is still there and not full, then try again.",
            cancel_shown_while_running=True,
        )
        self.review_button = self._button(
            "&Review incoming changes…",
            "Review incoming changes",
            "What each office changed, in which case (Sync › Incoming changes)",
        )
        self.review_button.setVisible(False)  # shown once an import brought changes
        self.summary = QPlainTextEdit(self)
        self.summary.setReadOnly(True)
        self.summary.setTabChangesFocus(True)
        self.summary.setAccessibleName("Summary")
        self.summary.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.summary.setPlaceholderText("What came in and what went out is summarised here.")

        self.choose_button.clicked.connect(self.choose_folder)
        self.import_button.clicked.connect(self.import_listed)
        self.sync_button.clicked.connect(self.sync_stick)
        self.export_button.clicked.connect(self.export_checked)
        self.cancel_button.clicked.connect(self.cancel)
        self.review_button.clicked.connect(self.reviewRequested)
        escape = QShortcut(QKeySequence(QKeySequence.StandardKey.Cancel), self)
        escape.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        escape.activated.connect(self.cancel)  # Esc cancels from anywhere in the center
        self.peer_list.itemChanged.connect(self._update_controls)

        # Sentences get the whole width of their box, on a line of their own (beside the
        # buttons they were squeezed into a column a few words wide), and the peers their
        # names on one line.
        incoming = QGroupBox("From a stick", self)
        top = QHBoxLayout()
        top.addWidget(self.choose_button)
        top.addWidget(self.folder_label, 1)
        actions = QHBoxLayout()
        actions.addStretch(1)
        actions.addWidget(self.import_button)
        actions.addWidget(self.sync_button)
        incoming_layout = QVBoxLayout(incoming)
        incoming_layout.addLayout(top)
        incoming_layout.addWidget(self.table, 1)
        incoming_layout.addWidget(self.listing_label)
        incoming_layout.addLayout(actions)

        outgoing = QGroupBox("To peers", self)
        outgoing_layout = QVBoxLayout(outgoing)
        outgoing_layout.addWidget(self.peer_list, 1)
        outgoing_layout.addWidget(self.export_button, 0, Qt.AlignmentFlag.AlignRight)
        # The text, its tick box and the list's and the box's margins.
        outgoing.setMinimumWidth(self.fontMetrics().horizontalAdvance(TYPICAL_PEER) + 64)

        # Side by side when there is room, the peers under the stick when the centre is
        # docked beside the list of a small window (`resizeEvent`).
        middle = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        middle.addWidget(incoming, 2)
        middle.addWidget(outgoing, 1)
        self._middle = middle
        progress = QHBoxLayout()
        progress.addWidget(self.progress_bar, 1)
        progress.addWidget(self.progress_label, 2)
        progress.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(middle, 2)
        layout.addLayout(progress)
        layout.addWidget(self.summary, 1)
        layout.addWidget(self.review_button, 0, Qt.AlignmentFlag.AlignRight)

        self._work.show_progress(False)
        self._update_controls()
        # The peers' news is planned on the worker; started once the caller has connected.
        QTimer.singleShot(0, self, self.refresh_peers)

    def _button(self, text: str, name: str, tip: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setAccessibleName(name)
        button.setToolTip(tip)
        return button

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Stack the peers under the stick when side by side would squeeze the stick's
        sentences (narrower than SIDE_BY_SIDE_CHARS)."""
        super().resizeEvent(event)
        narrow = self.width() < self._text_width(SIDE_BY_SIDE_CHARS)
        wanted = QBoxLayout.Direction.TopToBottom if narrow else QBoxLayout.Direction.LeftToRight
        if self._middle.direction() != wanted:
            self._middle.setDirection(wanted)

    def _text_width(self, characters: int) -> int:
        return self.fontMetrics().averageCharWidth() * characters

    def _label(self, name: str) -> QLabel:
        label = QLabel(self)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        label.setMinimumWidth(self._text_width(LABEL_MIN_CHARS))  # never a column of words
        label.setAccessibleName(name)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    # -- state ---------------------------------------------------------------------------

    @property
    def is_busy(self) -> bool:
        """True while a task runs (the workspace is in use on the worker)."""
        return self._work.running

    @property
    def folder(self) -> Path | None:
        """The stick or folder chosen last."""
        return self._folder

    def checked_peers(self) -> list[Peer]:
        """The peers ticked for the next export."""
        ticked = {
            self.peer_list.item(row).data(PeerOriginRole)
            for row in range(self.peer_list.count())
            if self.peer_list.item(row).checkState() == Qt.CheckState.Checked
        }
        return [c.peer for c in self._peer_choices if c.peer.origin in ticked]

    def set_peer_checked(self, origin: str, checked: bool = True) -> bool:
        """Tick (or untick) a peer by its origin; False when it is not listed or revoked."""
        for row in range(self.peer_list.count()):
            item = self.peer_list.item(row)
            if item.data(PeerOriginRole) == origin:
                if not item.flags() & Qt.ItemFlag.ItemIsUserCheckable:
                    return False
                item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
                return True
        return False

    @Slot()
    def _update_controls(self) -> None:
        idle = not self._work.running
        has_folder = self._folder is not None
        self.choose_button.setEnabled(idle)
        self.table.setEnabled(idle)
        # Only while a listed bundle would bring something in: after an import every row
        # says "imported now" (or why not), and importing again would do nothing.
        importable = any(row.importable for row in self.model.bundles())
        self.import_button.setEnabled(idle and importable)
        self.import_button.setToolTip(
            "Import the bundles listed (each is checked again)"
            if importable or not self.model.rowCount()
            else "Nothing left to import here: see the Verification column"
        )
        self.sync_button.setEnabled(idle and has_folder)
        self.peer_list.setEnabled(idle)
        self.export_button.setEnabled(idle and has_folder and bool(self.checked_peers()))
        self.export_button.setToolTip(
            "Write one bundle for the ticked peers into the chosen folder"
            if has_folder
            else "Choose a stick or folder first"
        )

    def _set_peers(self, choices: list[PeerChoice]) -> None:
        ticked = {p.origin for p in self.checked_peers()}
        self._peer_choices = choices
        self.peer_list.blockSignals(True)
        self.peer_list.clear()
        for choice in choices:
            peer = choice.peer
            text = f"{peer.office_name} ({role_label(peer.role)})"
            item = QListWidgetItem(self.peer_list)
            item.setData(PeerOriginRole, peer.origin)
            if choice.refusal:
                why = "key revoked" if peer.revoked_after is not None else "not verified"
                item.setText(f"{text}: {why}, nothing is written for it")
                item.setFlags(Qt.ItemFlag.NoItemFlags)
                item.setToolTip(choice.refusal)
                continue
            item.setText(f"{text}: has news" if choice.news else text)
            item.setToolTip(
                "Has changes or receipts it has not received yet"
                if choice.news
                else "Nothing new for it; a bundle would carry nothing it lacks"
            )
            item.setFlags(
                Qt.ItemFlag.ItemIsEnabled
                | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsUserCheckable
            )
            item.setCheckState(
                Qt.CheckState.Checked if peer.origin in ticked else Qt.CheckState.Unchecked
            )
        self.peer_list.blockSignals(False)
        if not choices:
            empty = QListWidgetItem("No peers yet: add their contact cards first.", self.peer_list)
            empty.setFlags(Qt.ItemFlag.ItemIsEnabled)
        self._update_controls()

    # -- running tasks -------------------------------------------------------------------

    def _start(
        self,
        work: CancellableJob,
        on_finished: Callable[[Any], None],
        on_cancelled: Callable[[Any], None],
        *,
        title: str,
        cancellable: bool = True,
        reads_peers: bool = False,
    ) -> bool:
        """Run `work` on the worker, with this widget disabled and `busy` raised. Any other
        work may change which peers have news, so the peer list is reread after it."""
        if self._work.running:
            return False
        self._peers_stale = not reads_peers
        self.cancel_button.setToolTip(
            "Stop the work at the next step"
            if cancellable
            else "This cannot be stopped half-way; it finishes on its own"
        )
        self._work.start(work, on_finished, on_cancelled, title=title, cancellable=cancellable)
        self._update_controls()
        if cancellable:
            self.cancel_button.setFocus()
        return True

    def _on_idle(self) -> None:
        self._update_controls()
        self._focus_next_step()
        if self._peers_stale:
            QTimer.singleShot(0, self, self.refresh_peers)

    def _focus_next_step(self) -> None:
        """Cancel had the keys while the work ran; when it went, Qt gave them to the
        summary text (the buttons were still disabled). Give them to what comes next:
        Import once a stick lists something to import, else Choose a stick or folder. A
        focus the person moved elsewhere meanwhile stays where it is."""
        focus = QApplication.focusWidget()
        if focus is not None and focus is not self.summary and focus is not self.cancel_button:
            return
        if focus is None and not self.isActiveWindow():
            return
        step = self.import_button if self.import_button.isEnabled() else self.choose_button
        step.setFocus()

    @Slot()
    def cancel(self) -> None:
        """Ask the running work to stop; silent, and nothing half-done is kept."""
        self._work.cancel()

    # -- peers ---------------------------------------------------------------------------

    @Slot()
    def refresh_peers(self) -> bool:
        """Reread the peers and which of them have news (on the worker)."""
        ws = self._ws
        return self._start(
            lambda _token, _sink, _cancel: peer_choices(ws),
            self._set_peers,
            lambda late: self._set_peers(late) if isinstance(late, list) else None,
            title=TITLE,
            reads_peers=True,
        )

    # -- listing -------------------------------------------------------------------------

    @Slot()
    def choose_folder(self) -> None:
        """Ask for a stick or folder, then list and verify the bundles in it."""
        if self._work.running:
            return
        folder = self._choose(self, "Choose a stick or folder with bundles")
        if folder is None:
            return  # a cancel is silent
        self.list_folder(folder)

    def list_folder(self, folder: Path) -> bool:
        """List and verify the bundles in `folder` on the worker; False while busy."""
        if self._work.running:
            return False
        self._folder = folder
        self.folder_label.setText(str(folder))
        self.model.clear()
        self.listing_label.setText("Looking for bundles…")
        ws = self._ws
        return self._start(
            lambda token, sink, _cancel: scan_folder(ws, folder, token, sink),
            self._show_listing,
            lambda _late: self.listing_label.setText(
                "Listing cancelled. Choose the folder again to list its bundles."
            ),
            title="List bundles",
        )

    def _show_listing(self, outcome: ScanOutcome) -> None:
        self.model.set_rows(outcome.rows)
        self._update_controls()
        self.listing_label.setText(self._listing_text(outcome.folder, outcome.rows))
        if outcome.rows:
            self.table.selectRow(0)

    @staticmethod
    def _listing_text(folder: Path, rows: list[BundleRow]) -> str:
        if not rows:
            return (
                f"There are no Valise bundles in {folder}. Bundles are kept in the Valise"
                " folder of a stick: choose the stick itself or that folder."
            )
        verified = sum(1 for r in rows if r.state == "verified")
        other = len(rows) - verified
        text = f"{_count(len(rows), 'bundle')} found, {verified:,} verified and ready to import."
        if other:
            text += f" {other:,} will not import (see the Verification column)."
        return text

    # -- import --------------------------------------------------------------------------

    @Slot()
    def import_listed(self) -> bool:
        """Import the bundles listed, on the worker; False when there is nothing to do."""
        rows = self.model.bundles()
        if self._work.running or not rows:
            return False
        heads = [row.head for row in rows]
        ws = self._ws
        self.summary.setPlainText("")
        return self._start(
            lambda token, sink, cancel: import_heads(ws, heads, token, sink, cancel),
            self._show_import,
            self._show_cancelled_import,
            title="Import bundles",
        )

    def _show_import(self, outcome: ImportOutcome) -> None:
        by_head = {report.head: report for report in outcome.reports}
        self.model.set_rows(
            [
                _row_after_import(row, by_head[row.head]) if row.head in by_head else row
                for row in self.model.bundles()
            ]
        )
        self._set_peers(outcome.peers)
        text = describe_import(outcome.reports, outcome.case_names)
        if outcome.cancelled:
            text = "Import cancelled; the bundle being read was left out whole.\n\n" + text
        self.summary.setPlainText(text)
        self.listing_label.setText(text.split("\n", 1)[0])
        if any(r.status == "imported" or r.unparked for r in outcome.reports):
            self.review_button.setVisible(True)
            self.imported.emit(list(outcome.reports))

    def _show_cancelled_import(self, late: object) -> None:
        if not isinstance(late, ImportOutcome) or not any(
            r.status == "imported" for r in late.reports
        ):
            self.summary.setPlainText("Import cancelled. Nothing was imported.")
            self.listing_label.setText("Import cancelled. Nothing was imported.")
            return
        # Bundles finished before the cancel took effect stay imported: say which.
        late.cancelled = True
        self._show_import(late)

    # -- export --------------------------------------------------------------------------

    @Slot()
    def export_checked(self) -> bool:
        """Write one bundle for the ticked peers into the chosen folder, on the worker."""
        peers = self.checked_peers()
        folder = self._folder
        if self._work.running or not peers or folder is None:
            return False
        ws = self._ws
        return self._start(
            lambda _token, sink, cancel: export_for(ws, peers, folder, sink, cancel),
            self._show_export,
            self._show_cancelled_export,
            title="Export a bundle",
        )

    def _show_export(self, outcome: ExportOutcome) -> None:
        written = outcome.run.written
        self._set_peers(outcome.peers)
        self.model.set_rows(
            [
                *self.model.bundles(),
                *(
                    BundleRow(
                        result.head,
                        f"{outcome.office_name} (this installation)",
                        "",
                        len(result.parts),
                        result.bytes_written,
                        "ours",
                        "written by this installation",
                    )
                    for result in written
                ),
            ]
        )
        self._update_controls()
        headline = outcome.run.summary()
        self.summary.setPlainText("\n\n".join([headline, *map(describe_export, written)]))
        self.listing_label.setText(headline.split(":", 1)[0] + ".")
        for result in written:
            self.exported.emit(result)

    def _show_cancelled_export(self, late: object) -> None:
        if isinstance(late, ExportOutcome):  # finished before the cancel took effect
            self._show_export(late)
            return
        self.summary.setPlainText("Export cancelled. Nothing was written to the stick.")

    # -- both ways -----------------------------------------------------------------------

    @Slot()
    def sync_stick(self) -> bool:
        """`sync usb` with the chosen folder, on the worker, with progress and Cancel
        (which stops at the next step: what already came in or went out stays)."""
        folder = self._folder
        if self._work.running or folder is None:
            return False
        ws = self._ws
        self.summary.setPlainText("")
        return self._start(
            lambda token, sink, cancel: sync_with(ws, folder, token, sink, cancel),
            self._show_sync,
            lambda _late: self.summary.setPlainText(
                "Sync cancelled. Bundles already imported or written stay; the one under"
                " way was dropped whole. List the stick again to see where it stands."
            ),
            title="Sync with this stick",
        )

    def _show_sync(self, outcome: SyncOutcome) -> None:
        self.model.set_rows(outcome.rows)
        self._set_peers(outcome.peers)
        came_in = describe_import(outcome.usb.imported, outcome.case_names)
        went_out = (
            "\n\n".join(describe_export(result) for result in outcome.usb.exported)
            if outcome.usb.exported
            else "No bundle was written; see the steps above."
            if any(step.action == "export" for step in outcome.usb.failed)
            else "No peer had anything new to receive; nothing was written."
        )
        steps = "\n".join(step.text for step in outcome.usb.steps) or "Nothing to do."
        self.summary.setPlainText(
            f"{outcome.usb.headline()}\n\nStep by step\n\n{steps}\n\n"
            f"Came in\n\n{came_in}\n\nWent out\n\n{went_out}"
        )
        self.listing_label.setText(outcome.usb.headline())
        if any(r.status == "imported" or r.unparked for r in outcome.usb.imported):
            self.review_button.setVisible(True)
            self.imported.emit(list(outcome.usb.imported))
