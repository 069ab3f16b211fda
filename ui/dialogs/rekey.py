"""Tools › Change the database key (rekey)…: the confirmation, and the rekey on the worker.

What it does is what `valise rekey [--escrow-out FILE]` does (desktop/commands/
workspace_cmds.py, storage.rekey): a new random database key, the database re-encrypted
under it and sealed to every user's slot, so nobody's passphrase changes. Key files and
backups written before keep opening the data as it was then; the paper shares and the
escrow held the old key and stop opening the workspace. The dialog says so in plain words
before anything happens.

Why the supervisor types their passphrase here. `storage.rekey.rekey` closes the workspace,
and a new escrow must seal the *new* key, which only a workspace opened again after the
rekey holds. The window does not keep the passphrase (nothing secret stays in its memory),
so it has to be asked. Asking it for every rekey, escrow or not, is also a fair
confirmation for an action that ends every other way in: the person at the keyboard
proves they are the supervisor who unlocked, not someone at an unattended screen. The
passphrase is checked against the key file before anything changes (a wrong one counts
toward the unlock throttle, as at the unlock dialog). On the worker: the role check
(storage.roles, MANAGE_KEYS), the passphrase, the escrow file name, the rekey, then, for
the escrow, `open_workspace` with the same passphrase, `write_escrow`, close.

After it the window locks as Ctrl+L does (the workspace is closed already), and the same
passphrase unlocks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from storage import escrow, keyfile, rekey, roles, throttle
from storage.errors import StorageError, ThrottledUnlock, WrongPassphrase
from storage.passphrase import encode_passphrase
from storage.workspace import Workspace, open_workspace
from ui.dialogs._common import (
    UNUSABLE_CHARACTER_MESSAGE,
    GrowForWrappedText,
    message_label,
    passphrase_is_encodable,
    with_line_under,
)
from ui.dialogs.busy import BusyKeys
from ui.dialogs.form_fields import caption
from ui.prompts import Prompts
from ui.tasks import CancelToken, ProgressSink, Task, TaskRunner

# (parent, caption, suggested name) -> where to write, or None when cancelled
SaveChooser = Callable[[QWidget, str, str], Path | None]

REKEYED_REASON = "The database key was changed; unlock with your passphrase (it is unchanged)."
REFUSED_CONFIRMATION = "That is not your passphrase. Nothing was changed."
ESCROW_FILTER = "Escrow files (*.escrow);;All files (*)"


def choose_escrow_target(parent: QWidget, caption_text: str, suggested: str) -> Path | None:
    """Ask where to write the new escrow with the platform's file dialog; None on cancel."""
    name, _ = QFileDialog.getSaveFileName(parent, caption_text, suggested, ESCROW_FILTER)
    return Path(name) if name else None


@dataclass(frozen=True)
class RekeyOutcome:
    """What a rekey did, as sentences for the person (the CLI says the same)."""

    sentences: tuple[str, ...]

    @property
    def text(self) -> str:
        """The sentences as one message, a paragraph each."""
        return "\n\n".join(self.sentences)


def check_passphrase(ws: Workspace, passphrase: str, now: Callable[[], float]) -> None:
    """Refuse unless `passphrase` opens the key file for the user who unlocked `ws`; a
    wrong one counts toward the unlock throttle, and a throttle in force is respected."""
    paths = ws.paths
    wait = throttle.load(paths.attempts, now).wait_seconds(now())
    if wait > 0:
        raise ThrottledUnlock(wait)
    user = ws.user.name if ws.user is not None else None
    try:
        keyfile.unseal(keyfile.read(paths.keyfile), encode_passphrase(passphrase), user)
    except WrongPassphrase:
        throttle.record_failure(paths.attempts, now)
        raise StorageError(REFUSED_CONFIRMATION) from None


def change_database_key(
    ws: Workspace,
    passphrase: str,
    escrow_out: Path | None,
    now: Callable[[], float] = time.time,
) -> RekeyOutcome:
    """Rekey `ws` (which is closed afterwards) as its supervisor, and with `escrow_out`
    write a new escrow of the new key. Every refusal comes before the rekey; an escrow
    that fails after it is said, the rekey being done."""
    roles.require(ws, roles.MANAGE_KEYS, "change the database key")
    check_passphrase(ws, passphrase, now)
    recipient = ws.meta(escrow.RECIPIENT_META, "")
    if escrow_out is not None:
        escrow.check_new_escrow(recipient, escrow_out)  # before anything changes
    shares = keyfile.read(ws.paths.keyfile).recovery_slots
    root, user = ws.paths.root, (ws.user.name if ws.user is not None else None)
    result = rekey.rekey(ws, rekey.sealed_for_every_user(ws))
    earlier = (
        f" So do the {len(result.earlier_copies)} copies kept in backups/ before schema upgrades."
        if result.earlier_copies
        else ""
    )
    said = [
        "The database was re-encrypted under a new key; every user's passphrase is unchanged."
        " Old key files no longer open it. Backup files written before this still open with"
        f" the old passphrase and hold the data as it was then.{earlier} Destroy them if the"
        " old key file or passphrase may be known to someone else."
    ]
    if escrow_out is not None:
        try:
            with open_workspace(root, passphrase, user=user, now=now) as reopened:
                escrow.write_escrow(reopened, recipient, escrow_out)
        except StorageError as exc:
            said.append(
                f"The rekey is done, but the new escrow could not be written: {exc} Write it"
                f" with `valise recovery escrow --recipient {recipient} --out FILE`."
            )
        else:
            said.append(
                f"Wrote the new escrow {escrow_out} for the tribunal IT; the old escrow no"
                " longer opens the workspace."
            )
        recipient = ""  # told above
    for slot in shares:
        said.append(
            f"The paper shares of set {slot.set_id} no longer open the workspace (they still"
            " open the backups written before); make a new set with `valise recovery shares`."
        )
    if recipient:
        said.append(
            "The escrow held by the tribunal IT holds the old key: write a new one with"
            f" `valise recovery escrow --recipient {recipient} --out FILE`."
        )
    return RekeyOutcome(tuple(said))


def explanation(has_shares: bool, has_escrow: bool) -> str:
    """What a rekey does, in plain words, for this workspace."""
    lines = [
        "This re-encrypts the workspace under a new random database key. Do it when a key"
        " file, a backup or a passphrase may be in the wrong hands, or when someone leaves"
        " the office.\n",
        "• Every user keeps their passphrase.",
        "• Key files and backups written before still open the data as it was then, with"
        " the old passphrases: destroy them if they may be known to someone else.",
    ]
    if has_shares:
        lines.append("• The paper shares stop opening the workspace: make a new set afterwards.")
    if has_escrow:
        lines.append(
            "• The escrow held by the tribunal IT stops opening it, unless a new one is"
            " written below."
        )
    lines.append("• The workspace closes when it is done; unlock it again with your passphrase.")
    return "\n".join(lines)


class RekeyDialog(QDialog):
    """Confirms a rekey of `workspace` with the supervisor's passphrase and runs it on
    `runner` (the window's database worker). `busy(bool)` brackets the work, as the
    docked views' does; `rekeyed(RekeyOutcome)` says it is done (the workspace is then
    closed, and the dialog accepted), and then no `busy(False)` follows: the window ends
    its busy state as it locks, so nothing reads the closed database in between."""

    busy = Signal(bool)
    rekeyed = Signal(object)

    def __init__(
        self,
        workspace: Workspace,
        runner: TaskRunner,
        parent: QWidget | None = None,
        *,
        prompts: Prompts | None = None,
        choose_target: SaveChooser = choose_escrow_target,
        now: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(parent)
        self._ws = workspace
        self._runner = runner
        self._prompts = prompts or Prompts()
        self._choose_target = choose_target
        self._now = now
        self._task: Task | None = None
        self._outcome: RekeyOutcome | None = None
        self.escrow_out: Path | None = None
        self.recipient = workspace.meta(escrow.RECIPIENT_META, "")
        shares = bool(keyfile.read(workspace.paths.keyfile).recovery_slots)

        self.setWindowTitle("Change the database key — Valise")
        self.setAccessibleName("Change the database key")
        self.setMinimumWidth(540)

        self.explanation_label = message_label("What a rekey does", self)
        self.explanation_label.setText(explanation(shares, bool(self.recipient)))
        self.passphrase_edit = QLineEdit(self)
        self.passphrase_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase_edit.setAccessibleName("Your passphrase")
        self.passphrase_edit.setAccessibleDescription(
            "Your passphrase, to confirm the rekey; it stays the same afterwards"
        )
        passphrase_hint = message_label("About your passphrase", self)
        passphrase_hint.setText(
            "To confirm the rekey (and to write the new escrow); it stays the same."
        )
        form = QFormLayout()
        form.addRow(
            caption("Your &passphrase:", self.passphrase_edit, self),
            with_line_under(self.passphrase_edit, passphrase_hint),
        )

        self.escrow_check: QCheckBox | None = None
        self.escrow_edit: QLineEdit | None = None
        self.escrow_button: QPushButton | None = None
        if self.recipient:
            self.escrow_check = QCheckBox("Also write a new &escrow for the tribunal IT", self)
            self.escrow_check.setAccessibleName("Also write a new escrow for the tribunal IT")
            self.escrow_check.setToolTip(f"Sealed to the recipient recorded: {self.recipient}")
            self.escrow_edit = QLineEdit(self)
            self.escrow_edit.setReadOnly(True)
            self.escrow_edit.setAccessibleName("New escrow file")
            self.escrow_edit.setPlaceholderText("a new file, sent to the tribunal IT afterwards")
            self.escrow_button = QPushButton("C&hoose…", self)
            self.escrow_button.setAccessibleName("Choose where to write the new escrow")
            self.escrow_check.toggled.connect(self._update_controls)
            self.escrow_button.clicked.connect(self.choose_escrow)
            row = QHBoxLayout()
            row.addWidget(self.escrow_edit, 1)
            row.addWidget(self.escrow_button)
            form.addRow("", self.escrow_check)
            form.addRow("Escrow file:", row)

        self.message_label = message_label("Rekey message", self)
        bold = self.message_label.font()
        bold.setBold(True)
        self.message_label.setFont(bold)

        buttons = QDialogButtonBox(self)
        self.rekey_button = QPushButton("&Change the key", self)
        self.rekey_button.setAccessibleName("Change the database key")
        self.rekey_button.setAutoDefault(False)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setAccessibleName("Cancel")
        self.cancel_button.setDefault(True)  # Enter does not start a rekey by accident
        buttons.addButton(self.rekey_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.rekey_button.clicked.connect(self.try_rekey)
        self.cancel_button.clicked.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.explanation_label)
        layout.addSpacing(8)
        layout.addLayout(form)
        layout.addWidget(self.message_label)
        layout.addStretch(1)
        layout.addWidget(buttons)
        self._busy_keys = BusyKeys(self)
        self._grow = GrowForWrappedText(self)
        self._update_controls()
        self.passphrase_edit.setFocus()

    @property
    def working(self) -> bool:
        """True while the rekey runs."""
        return self._task is not None

    def message(self) -> str:
        """The refusal or progress now shown (for tests and screen readers)."""
        return self.message_label.text()

    @Slot()
    def _update_controls(self) -> None:
        idle = not self.working
        self.passphrase_edit.setEnabled(idle)
        self.rekey_button.setEnabled(idle)
        self.cancel_button.setEnabled(idle)  # a rekey under way is not stopped halfway
        if self.escrow_check is not None and self.escrow_button is not None:
            self.escrow_check.setEnabled(idle)
            self.escrow_button.setEnabled(idle and self.escrow_check.isChecked())

    @Slot()
    def choose_escrow(self) -> None:
        """Choose the new escrow file (a file that does not exist yet)."""
        path = self._choose_target(self, "Write the new escrow to", "workspace.escrow")
        if path is None or self.escrow_edit is None:
            return
        self.escrow_out = path
        self.escrow_edit.setText(str(path))
        self.message_label.setText("")

    def wanted_escrow(self) -> Path | None:
        """The escrow file to write, when the box is ticked."""
        if self.escrow_check is None or not self.escrow_check.isChecked():
            return None
        return self.escrow_out

    @Slot()
    def try_rekey(self) -> None:
        """Refuse with the first problem, or rekey on the worker."""
        if self.working:
            return
        passphrase = self.passphrase_edit.text()
        if not passphrase:
            self.message_label.setText("Type your passphrase to confirm the rekey.")
            self.passphrase_edit.setFocus()
            return
        if not passphrase_is_encodable(passphrase):
            self.message_label.setText(UNUSABLE_CHARACTER_MESSAGE)
            return
        escrow_out = self.wanted_escrow()
        if self.escrow_check is not None and self.escrow_check.isChecked() and not escrow_out:
            self.message_label.setText("Choose where to write the new escrow, or untick it.")
            return
        ws, now = self._ws, self._now

        def work(_token: CancelToken, _progress: ProgressSink) -> RekeyOutcome:
            return change_database_key(ws, passphrase, escrow_out, now)

        self.message_label.setText("Changing the database key…")
        self._busy_keys.begin()
        self.busy.emit(True)
        self._task = self._runner.start(work)
        self._task.finished.connect(self._on_rekeyed)
        self._task.failed.connect(self._on_failed)
        self._task.done.connect(self._on_done)
        self._update_controls()

    @Slot(object)
    def _on_rekeyed(self, outcome: RekeyOutcome) -> None:
        self._outcome = outcome
        self.passphrase_edit.clear()
        self.message_label.setText("")
        self.accept()
        self.rekeyed.emit(outcome)

    @Slot(object)
    def _on_failed(self, error: BaseException) -> None:
        if isinstance(error, ThrottledUnlock):
            self.message_label.setText(
                f"Too many wrong passphrases: try again in {round(error.wait_seconds)} seconds."
                " Nothing was changed."
            )
        elif isinstance(error, StorageError):  # NotPermitted included
            self.message_label.setText(str(error))
        elif isinstance(error, UnicodeError):
            self.message_label.setText(UNUSABLE_CHARACTER_MESSAGE)
        else:
            self.message_label.setText("The key could not be changed (an error inside Valise).")
            self._prompts.report_bug(self, "Rekey failed", error)
        self.passphrase_edit.selectAll()

    @Slot()
    def _on_done(self) -> None:
        self._task = None
        self._update_controls()
        self._busy_keys.end(self.passphrase_edit if self._outcome is None else None)
        if self._outcome is None:  # after `rekeyed`, the window ends its busy state itself
            self.busy.emit(False)

    def reject(self) -> None:
        """Cancel closes the dialog, except while the rekey runs (it must finish)."""
        if self.working:
            return
        self.passphrase_edit.clear()
        super().reject()
