"""Recovering a lost passphrase from the unlock dialog: paper shares or the escrow in,
a new passphrase set and the workspace open.

The command line does this with `valise recovery open` (desktop/commands/recovery_cmds.py);
this dialog makes the same calls in the same order. The person chooses the way back:

- paper shares: K of the share text files (storage.paper_shares.recover_secret, then
  shares_unwrap, which opens the key file's recovery slot);
- escrow: the escrow file and the tribunal IT's age identity file (storage.escrow.read_escrow,
  then escrow_unwrap, which yields the database key itself).

Then `storage.recovery.recover_workspace` proves the key on the database and writes a new
passphrase slot for the user named (storage.users.recovering_user: the only user when the
field is left empty). All of it, Argon2id included, runs on a worker. Every refusal
(storage.errors.RecoveryRefused: a damaged share, shares of two sets, too few, a wrong
escrow key...) comes before anything is written, and is shown as its sentence here.

A share may also be typed (or pasted) from its paper with "Type a share…": the words are
checked at once (word list, count, checksum) and kept in memory only, as a
storage.paper_shares.TypedShare; they are never written to a file or shown in a message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from storage import escrow, keyfile, paper_shares, users
from storage.errors import NotAWorkspace, RecoveryRefused, StorageError
from storage.paper_shares import ShareSource, TypedShare
from storage.paths import WorkspacePaths
from storage.recovery import ESCROW, SHARES, Recovered, recover_workspace
from storage.workspace import Workspace
from sync.authority import check_own_commits
from sync.peers import grant_shares_made_before_grants
from ui.dialogs._common import (
    UNUSABLE_CHARACTER_MESSAGE,
    GrowForWrappedText,
    message_label,
)
from ui.dialogs.busy import BusyKeys
from ui.dialogs.form_fields import caption
from ui.dialogs.new_passphrase import NewPassphraseFields
from ui.prompts import Prompts
from ui.tasks import CancelToken, ProgressSink, Task, TaskRunner, shared_runner

# (parent, caption) -> the files chosen ([] when cancelled)
ManyChooser = Callable[[QWidget, str], list[Path]]
# (parent, caption) -> the file chosen, or None when cancelled
OneChooser = Callable[[QWidget, str], Path | None]
# (parent, label of the share) -> the words typed, checked, or None when cancelled
WordsAsker = Callable[[QWidget, str], str | None]

SHARE_FILTER = "Share text files (*.txt);;All files (*)"
NAME_NEEDED = (
    "This workspace has several users: type in the User field whose passphrase the"
    " recovery sets. Nothing was changed."
)


def several_users(workspace_dir: Path) -> bool:
    """True when the key file holds more than one user's slot (read without unlocking), so
    the recovery must be told whose passphrase it sets."""
    try:
        return len(keyfile.read(WorkspacePaths(workspace_dir).keyfile).user_slots) > 1
    except (OSError, StorageError):
        return False  # an unreadable key file is told by the recovery itself


def choose_share_files(parent: QWidget, caption_text: str) -> list[Path]:
    """Ask for one or more share text files with the platform's file dialog."""
    names, _ = QFileDialog.getOpenFileNames(parent, caption_text, "", SHARE_FILTER)
    return [Path(name) for name in names]


def choose_one_file(parent: QWidget, caption_text: str) -> Path | None:
    """Ask for one file to read with the platform's file dialog; None on cancel."""
    name, _ = QFileDialog.getOpenFileName(parent, caption_text, "")
    return Path(name) if name else None


class TypeShareDialog(QDialog):
    """Asks for the words of one share, typed from its paper; OK only when they check out
    on their own (word list, count, checksum; storage.paper_shares.read_share)."""

    def __init__(self, label: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = label
        self.setWindowTitle("Type a share — Valise")
        self.setAccessibleName("Type a share")
        self.setMinimumWidth(460)
        intro = message_label("About this dialog", self)
        intro.setText(
            f"Type the {paper_shares.WORDS_PER_SHARE} words of one paper share, in order,"
            " separated by spaces or new lines (the numbers printed beside them may be left"
            " out)."
        )
        self.words_edit = QPlainTextEdit(self)
        self.words_edit.setAccessibleName("Words of the share")
        self.words_edit.setTabChangesFocus(True)
        self.message_label = message_label("Share message", self)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.check_and_accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.words_edit)
        layout.addWidget(self.message_label)
        layout.addWidget(buttons)
        self._grow = GrowForWrappedText(self)

    def words(self) -> str:
        """The text typed."""
        return self.words_edit.toPlainText()

    @Slot()
    def check_and_accept(self) -> None:
        """Accept when the words make a share; else say what is wrong (never the words)."""
        try:
            paper_shares.read_share(paper_shares.TypedShare(self.label, self.words()))
        except RecoveryRefused as exc:
            self.message_label.setText(str(exc))
            return
        self.accept()

    def reject(self) -> None:
        """Cancel forgets the words."""
        self.words_edit.clear()
        super().reject()

    @classmethod
    def ask(cls, parent: QWidget, label: str) -> str | None:
        """The words of a share that checks out, or None when cancelled."""
        dialog = cls(label, parent)
        try:
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return None
            return dialog.words()
        finally:
            dialog.words_edit.clear()
            dialog.deleteLater()


@dataclass(frozen=True)
class FileChoosers:
    """How the dialog asks for files and typed shares; tests give their own."""

    shares: ManyChooser = choose_share_files
    one: OneChooser = choose_one_file
    words: WordsAsker = TypeShareDialog.ask


def recover(
    root: Path,
    way: str,
    files: list[ShareSource],
    identity: Path | None,
    new: str,
    user: str | None,
) -> Workspace:
    """The recovery itself, as `valise recovery open` does it: the files are checked first
    (a bad share is told before anything else), then the key must fit this workspace, and
    only then is the new passphrase written. Returns the workspace, open as that user."""
    if way == ESCROW:
        if identity is None or len(files) != 1 or not isinstance(files[0], Path):
            raise StorageError("Give the escrow file and the tribunal IT's key file.")
        escrow.read_escrow(files[0], identity)
        unwrap = escrow.escrow_unwrap(files[0], identity)
    else:
        paper_shares.recover_secret(files)
        unwrap = paper_shares.shares_unwrap(files)
    paths = WorkspacePaths(root)
    if not paths.looks_like_workspace():
        raise NotAWorkspace(root)
    unwrap(keyfile.read(paths.keyfile))  # fits this workspace? (proved again, locked)
    ws = recover_workspace(root, Recovered(unwrap, way, new, user))
    try:
        grant_shares_made_before_grants(ws)  # as the unlock dialog does after opening
        check_own_commits(ws)
    except BaseException:
        ws.close()
        raise
    return ws


class RecoverDialog(QDialog):
    """Opens the workspace in `workspace_dir` with paper shares or the escrow and sets a
    new passphrase. After `accepted`, `workspace` holds the open Workspace (the caller owns
    it); `recovered(workspace)` is emitted just before."""

    recovered = Signal(object)

    def __init__(
        self,
        workspace_dir: Path,
        parent: QWidget | None = None,
        *,
        runner: TaskRunner | None = None,
        prompts: Prompts | None = None,
        user: str = "",
        choosers: FileChoosers | None = None,
    ) -> None:
        super().__init__(parent)
        self.workspace_dir = Path(workspace_dir)
        self.workspace: Workspace | None = None
        self.share_files: list[ShareSource] = []  # files, and shares typed
        self.escrow_file: Path | None = None
        self.identity_file: Path | None = None
        self._runner = runner or shared_runner()
        self._prompts = prompts or Prompts()
        self._choosers = choosers or FileChoosers()
        self._task: Task | None = None

        self.setWindowTitle("Recover a lost passphrase — Valise")
        self.setAccessibleName("Recover a lost passphrase")
        self.setMinimumWidth(540)

        intro = message_label("About this dialog", self)
        intro.setText(
            "Open the workspace in\n"
            f"{self.workspace_dir}\n"
            "without its passphrase, with the paper shares or with the escrow held by the"
            " tribunal IT, and choose a new passphrase. Nothing is changed unless they open"
            " this workspace."
        )

        self.shares_radio = QRadioButton("Paper &shares", self)
        self.shares_radio.setAccessibleName("Recover with paper shares")
        self.escrow_radio = QRadioButton("&Escrow of the tribunal IT", self)
        self.escrow_radio.setAccessibleName("Recover with the escrow")
        self._ways = QButtonGroup(self)
        self._ways.addButton(self.shares_radio)
        self._ways.addButton(self.escrow_radio)
        self.shares_radio.setChecked(True)
        way_row = QHBoxLayout()
        way_row.addWidget(self.shares_radio)
        way_row.addWidget(self.escrow_radio)
        way_row.addStretch(1)

        # Paper shares: the list of share files.
        shares_page = QWidget(self)
        self.share_list = QListWidget(shares_page)
        self.share_list.setAccessibleName("Share files")
        lines = self.fontMetrics().lineSpacing()
        self.share_list.setMinimumHeight(lines * 3 + 8)
        self.share_list.setMaximumHeight(lines * 5 + 8)
        self.add_shares_button = QPushButton("&Add share files…", shares_page)
        self.add_shares_button.setAccessibleName("Add share files")
        self.add_shares_button.setToolTip(
            "The text files of the shares, as Valise wrote them or typed from the papers"
        )
        self.type_share_button = QPushButton("T&ype a share…", shares_page)
        self.type_share_button.setAccessibleName("Type the words of a share")
        self.type_share_button.setToolTip("Type or paste the words of a paper share")
        self.remove_share_button = QPushButton("Re&move", shares_page)
        self.remove_share_button.setAccessibleName("Remove the selected share file")
        shares_hint = message_label("About paper shares", shares_page)
        shares_hint.setText(
            "Add as many shares as the papers say are needed (for example 2 of 3): their"
            " text files, or the words typed from the papers."
        )
        share_buttons = QVBoxLayout()
        share_buttons.addWidget(self.add_shares_button)
        share_buttons.addWidget(self.type_share_button)
        share_buttons.addWidget(self.remove_share_button)
        share_buttons.addStretch(1)
        share_row = QHBoxLayout()
        share_row.addWidget(self.share_list, 1)
        share_row.addLayout(share_buttons)
        shares_column = QVBoxLayout(shares_page)
        shares_column.setContentsMargins(0, 0, 0, 0)
        shares_column.addLayout(share_row)
        shares_column.addWidget(shares_hint)

        # Escrow: the escrow file and the identity that opens it.
        escrow_page = QWidget(self)
        self.escrow_edit = QLineEdit(escrow_page)
        self.escrow_edit.setReadOnly(True)
        self.escrow_edit.setAccessibleName("Escrow file")
        self.escrow_edit.setPlaceholderText("the escrow file the tribunal IT keeps")
        self.escrow_button = QPushButton("Choose…", escrow_page)
        self.escrow_button.setAccessibleName("Choose the escrow file")
        self.identity_edit = QLineEdit(escrow_page)
        self.identity_edit.setReadOnly(True)
        self.identity_edit.setAccessibleName("The tribunal IT's key file")
        self.identity_edit.setPlaceholderText("the tribunal IT's age key (AGE-SECRET-KEY-1…)")
        self.identity_button = QPushButton("Choose…", escrow_page)
        self.identity_button.setAccessibleName("Choose the tribunal IT's key file")
        escrow_form = QFormLayout(escrow_page)
        escrow_form.setContentsMargins(0, 0, 0, 0)
        for text, edit, button in (
            ("Escrow &file:", self.escrow_edit, self.escrow_button),
            ("IT's &key file:", self.identity_edit, self.identity_button),
        ):
            row = QHBoxLayout()
            row.addWidget(edit, 1)
            row.addWidget(button)
            escrow_form.addRow(caption(text, button, escrow_page), row)
        escrow_hint = message_label("About the escrow", escrow_page)
        escrow_hint.setText(
            "The tribunal IT opens the escrow with its own key file: let them choose it"
            " here, and take it back with them afterwards."
        )
        escrow_form.addRow(escrow_hint)

        self.pages = QStackedWidget(self)
        self.pages.addWidget(shares_page)
        self.pages.addWidget(escrow_page)

        self.user_edit = QLineEdit(self)
        self.user_edit.setAccessibleName("User name")
        self.user_edit.setAccessibleDescription("Whose passphrase the recovery sets")
        self.user_edit.setMaxLength(users.MAX_NAME)
        self.user_edit.setText(user)
        self._name_needed = several_users(self.workspace_dir)
        self.user_edit.setPlaceholderText(
            "needed: this workspace has several users"
            if self._name_needed
            else "may be left empty: this workspace has one user"
        )
        self.new_passphrase = NewPassphraseFields(
            self,
            accessible_name="New passphrase",
            strong="✓ Strong enough. Write it down and keep it safe.",
        )
        self.passphrase_edit = self.new_passphrase.passphrase_edit
        self.repeat_edit = self.new_passphrase.repeat_edit
        self.strength_label = self.new_passphrase.strength_label
        self.match_label = self.new_passphrase.match_label
        self.show_check = self.new_passphrase.show_check
        self.message_label = message_label("Recovery message", self)
        bold = self.message_label.font()
        bold.setBold(True)
        self.message_label.setFont(bold)

        buttons = QDialogButtonBox(self)
        self.recover_button = QPushButton("&Recover", self)
        self.recover_button.setAccessibleName("Recover and set the new passphrase")
        self.recover_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setAccessibleName("Cancel")
        buttons.addButton(self.recover_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)

        form = QFormLayout()
        form.addRow("&User:", self.user_edit)
        self.new_passphrase.add_rows(form, "&New passphrase:", "Repea&t it:")
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(way_row)
        layout.addWidget(self.pages)
        layout.addSpacing(6)
        layout.addLayout(form)
        layout.addWidget(self.message_label)
        layout.addStretch(1)
        layout.addWidget(buttons)

        self.shares_radio.toggled.connect(self._on_way_changed)
        self.add_shares_button.clicked.connect(self.add_shares)
        self.type_share_button.clicked.connect(self.type_share)
        self.remove_share_button.clicked.connect(self.remove_share)
        self.escrow_button.clicked.connect(self.choose_escrow)
        self.identity_button.clicked.connect(self.choose_identity)
        self.recover_button.clicked.connect(self.try_recover)
        self.cancel_button.clicked.connect(self.reject)
        self._busy_keys = BusyKeys(self)
        self._grow = GrowForWrappedText(self)
        self._update_controls()
        self.add_shares_button.setFocus()

    # -- state ---------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """True while the recovery runs."""
        return self._task is not None

    @property
    def way(self) -> str:
        """storage.recovery.SHARES or ESCROW, as chosen."""
        return SHARES if self.shares_radio.isChecked() else ESCROW

    def message(self) -> str:
        """The refusal or progress now shown (for tests and screen readers)."""
        return self.message_label.text()

    def _show(self, text: str) -> None:
        self.message_label.setText(text)

    def _update_controls(self) -> None:
        idle = not self.busy
        for widget in (
            self.shares_radio,
            self.escrow_radio,
            self.pages,
            self.user_edit,
            self.passphrase_edit,
            self.repeat_edit,
            self.recover_button,
        ):
            widget.setEnabled(idle)
        self.remove_share_button.setEnabled(idle and self.share_list.count() > 0)

    @Slot(bool)
    def _on_way_changed(self, shares: bool) -> None:
        self.pages.setCurrentIndex(0 if shares else 1)
        self._show("")

    # -- files ---------------------------------------------------------------------------

    @Slot()
    def add_shares(self) -> None:
        """Add share files (a file already in the list is not added twice)."""
        for path in self._choosers.shares(self, "Add the text files of the paper shares"):
            if path not in self.share_files:
                self.share_files.append(path)
                self.share_list.addItem(path.name)
                self.share_list.item(self.share_list.count() - 1).setToolTip(str(path))
        self._show("")
        self._update_controls()

    @Slot()
    def type_share(self) -> None:
        """Add a share whose words are typed from its paper (checked as they are given)."""
        typed = sum(isinstance(item, TypedShare) for item in self.share_files)
        label = f"typed share {typed + 1}"
        words = self._choosers.words(self, label)
        if words is None:
            return
        self.share_files.append(TypedShare(label, words))
        self.share_list.addItem(f"{label[:1].upper()}{label[1:]} (words typed)")
        self._show("")
        self._update_controls()

    @Slot()
    def remove_share(self) -> None:
        """Take the selected share file (else the last) out of the list."""
        row = self.share_list.currentRow()
        if row < 0:
            row = self.share_list.count() - 1
        if row < 0:
            return
        self.share_list.takeItem(row)
        del self.share_files[row]
        self._update_controls()

    @Slot()
    def choose_escrow(self) -> None:
        """Choose the escrow file."""
        path = self._choosers.one(self, "Choose the escrow file")
        if path is not None:
            self.escrow_file = path
            self.escrow_edit.setText(str(path))
            self._show("")

    @Slot()
    def choose_identity(self) -> None:
        """Choose the tribunal IT's age identity file."""
        path = self._choosers.one(self, "Choose the tribunal IT's key file")
        if path is not None:
            self.identity_file = path
            self.identity_edit.setText(str(path))
            self._show("")

    # -- the new passphrase --------------------------------------------------------------

    def problem(self) -> tuple[str, QWidget] | None:
        """The first reason not to start yet, with the control to fix; None when ready."""
        if self.way == SHARES and not self.share_files:
            return (
                "Add the shares first (Add share files… or Type a share…).",
                self.add_shares_button,
            )
        if self.way == ESCROW and self.escrow_file is None:
            return "Choose the escrow file first.", self.escrow_button
        if self.way == ESCROW and self.identity_file is None:
            return "Choose the tribunal IT's key file first.", self.identity_button
        if self._name_needed and not self.user_edit.text().strip():
            return NAME_NEEDED, self.user_edit
        return self.new_passphrase.problem("Choose a stronger new passphrase")

    # -- recovering ----------------------------------------------------------------------

    @Slot()
    def try_recover(self) -> None:
        """Refuse with the first problem, or recover on a worker."""
        if self.busy:
            return
        found = self.problem()
        if found:
            text, widget = found
            self._show(text)
            widget.setFocus()
            if isinstance(widget, QLineEdit):
                widget.selectAll()
            return
        root, way = self.workspace_dir, self.way
        files = list(self.share_files) if way == SHARES else [self.escrow_file]
        identity = self.identity_file
        new = self.passphrase_edit.text()
        user = " ".join(self.user_edit.text().split()) or None
        sources: list[ShareSource] = [item for item in files if item is not None]

        def work(_token: CancelToken, _progress: ProgressSink) -> Workspace:
            return recover(root, way, sources, identity, new, user)

        self._show(f"Opening the workspace with the {way}…")
        self._busy_keys.begin()
        self._task = self._runner.start(work, discard=Workspace.close)
        self._task.finished.connect(self._on_recovered)
        self._task.failed.connect(self._on_failed)
        self._task.done.connect(self._on_done)
        self._update_controls()

    @Slot()
    def _on_done(self) -> None:
        self._task = None
        self._update_controls()
        self._busy_keys.end()

    @Slot(object)
    def _on_recovered(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.passphrase_edit.clear()
        self.repeat_edit.clear()
        self._show("")
        self.recovered.emit(workspace)
        self.accept()

    @Slot(object)
    def _on_failed(self, error: BaseException) -> None:
        if isinstance(error, StorageError):
            self._show(str(error))
        elif isinstance(error, UnicodeError):
            self._show(UNUSABLE_CHARACTER_MESSAGE)
        else:
            self._show("The workspace could not be recovered because of an error inside Valise.")
            self._prompts.report_bug(self, "Recovery failed", error)

    def reject(self) -> None:
        """Closing while the recovery runs cancels it; a workspace opened meanwhile is
        closed again (its new passphrase is set: it is said in the audit log)."""
        if self._task is not None:
            self._task.cancel()
        self.passphrase_edit.clear()
        self.repeat_edit.clear()
        self.share_files.clear()  # typed words go with the dialog
        super().reject()
