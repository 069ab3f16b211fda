"""The unlock dialog: a user name and a passphrase in, an open `Workspace` out.

Each user of an office has a passphrase of their own (storage.users). The name may be left
empty in a workspace with one user; with several, storage says a name is needed and the
dialog shows that sentence with the focus on the User field. The field starts with the
name in `VALISE_USER`, or after a lock with the name of the user who was unlocked.

The name typed last is deliberately not remembered on disk (no QSettings entry): the key
file does not list who may unlock the workspace (a slot is found by a keyed tag of the
name), and a settings file beside it must not list them either.

Key derivation (Argon2id, ~0.2 s) runs on a worker so the dialog keeps painting. A wrong
passphrase keeps the dialog open with a plain message; after several, the storage layer
imposes a growing wait, which the dialog shows as a countdown with the button disabled.

"Forgot the passphrase…" opens ui.dialogs.recover (paper shares or the escrow, then a new
passphrase); when that opens the workspace, this dialog accepts with it as if unlocked.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from storage import keyfile, throttle, users
from storage.errors import StorageError, ThrottledUnlock, UserNeeded, WrongPassphrase
from storage.paths import WorkspacePaths
from storage.workspace import Workspace, open_workspace
from sync.authority import check_own_commits
from sync.peers import grant_shares_made_before_grants
from ui.dialogs._common import (
    SWITCH_WORKSPACE,
    UNUSABLE_CHARACTER_MESSAGE,
    FolderChooser,
    GrowForWrappedText,
    ask_workspace_folder,
    message_label,
    passphrase_is_encodable,
)
from ui.dialogs.busy import BusyKeys
from ui.dialogs.recover import FileChoosers, RecoverDialog
from ui.prompts import Prompts
from ui.tasks import CancelToken, ProgressSink, Task, TaskRunner, shared_runner

USER_ENV = "VALISE_USER"  # the user name to offer in the User field (not a secret)


def user_from_environment() -> str:
    """The user name `VALISE_USER` gives, trimmed; '' when unset."""
    return " ".join(os.environ.get(USER_ENV, "").split())


def user_slot_count(workspace_dir: Path) -> int | None:
    """How many users' slots the key file holds (read without unlocking: the slots are
    there to see, only their owners' names are not); None when it cannot be read."""
    try:
        return len(keyfile.read(WorkspacePaths(workspace_dir).keyfile).user_slots)
    except (OSError, StorageError):
        return None


class UnlockDialog(QDialog):
    """Asks for the passphrase and opens the workspace in `workspace_dir`.

    After `accepted`, `workspace` holds the open Workspace; the caller owns it and must
    close it. `unlocked(workspace)` is emitted just before. `clock` is the wall clock the
    storage layer times failed attempts with; the countdown follows the same clock.
    `user` fills the User field (None: the name in `VALISE_USER`, if any).
    """

    unlocked = Signal(object)

    def __init__(
        self,
        workspace_dir: Path,
        parent: QWidget | None = None,
        *,
        runner: TaskRunner | None = None,
        prompts: Prompts | None = None,
        clock: Callable[[], float] = time.time,
        choose_folder: FolderChooser | None = None,
        locked_reason: str = "",
        user: str | None = None,
        recovery_choosers: FileChoosers | None = None,
    ) -> None:
        super().__init__(parent)
        self.workspace_dir = Path(workspace_dir)
        self.workspace: Workspace | None = None
        self.other_folder: Path | None = None  # chosen with "Open another workspace…"
        self._choose_folder = choose_folder
        self._runner = runner or shared_runner()
        self._prompts = prompts or Prompts()
        self._clock = clock
        self._task: Task | None = None
        self._reason = ""
        self._wait_until: float | None = None
        self._focus_after: QLineEdit | None = None  # the field to type in after a failure
        self._recovery_choosers = recovery_choosers
        self.recover_dialog: RecoverDialog | None = None  # open while recovering

        self.setWindowTitle("Unlock workspace — Valise")
        self.setAccessibleName("Unlock workspace")
        self.setMinimumWidth(440)

        intro = message_label("About this dialog", self)
        intro.setText(
            f"Type your user name and passphrase for the workspace in\n{self.workspace_dir}\n"
            "to open its cases."
        )
        self.user_edit = QLineEdit(self)
        self.user_edit.setAccessibleName("User name")
        self.user_edit.setAccessibleDescription("The name a supervisor gave you in this workspace")
        self.user_edit.setMaxLength(users.MAX_NAME)
        self.user_edit.setText(user_from_environment() if user is None else user)
        slots = user_slot_count(self.workspace_dir)
        if slots == 1:
            self.user_edit.setPlaceholderText("may be left empty: this workspace has one user")
        elif slots == 0:  # from before named users: the name given becomes its first user's
            self.user_edit.setPlaceholderText("may be left empty")
        self.passphrase_edit = QLineEdit(self)
        self.passphrase_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase_edit.setAccessibleName("Passphrase")
        self.passphrase_edit.setAccessibleDescription("Your passphrase for this workspace")
        self.message_label = message_label("Unlock message", self)
        # Room for two lines, so the dialog does not jump when a message appears.
        self.message_label.setMinimumHeight(self.fontMetrics().lineSpacing() * 2 + 4)

        buttons = QDialogButtonBox(self)
        self.unlock_button = QPushButton("Unlock", self)
        self.unlock_button.setAccessibleName("Unlock")
        self.unlock_button.setDefault(True)
        self.quit_button = QPushButton("Quit", self)
        self.quit_button.setAccessibleName("Quit")
        buttons.addButton(self.unlock_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.quit_button, QDialogButtonBox.ButtonRole.RejectRole)
        # Only at start-up: the window's own lock reopens the workspace it showed.
        self.open_other_button: QPushButton | None = None
        if choose_folder is not None:
            self.open_other_button = QPushButton("Open &another workspace…", self)
            self.open_other_button.setAccessibleName("Open another workspace")
            self.open_other_button.clicked.connect(self.open_other)
            buttons.addButton(self.open_other_button, QDialogButtonBox.ButtonRole.ResetRole)
        self.forgot_button = QPushButton("&Forgot the passphrase…", self)
        self.forgot_button.setAutoDefault(False)  # Enter in a field unlocks, never this
        self.forgot_button.setAccessibleName("Forgot the passphrase")
        self.forgot_button.setToolTip(
            "Open the workspace with its paper shares or the tribunal IT's escrow,"
            " and choose a new passphrase"
        )
        self.forgot_button.clicked.connect(self.forgot_passphrase)
        self.unlock_button.clicked.connect(self._on_unlock_clicked)
        self.quit_button.clicked.connect(self.reject)
        self.passphrase_edit.returnPressed.connect(self._on_unlock_clicked)
        self.user_edit.returnPressed.connect(self._on_user_entered)

        form = QFormLayout()
        form.addRow("&User:", self.user_edit)
        form.addRow("&Passphrase:", self.passphrase_edit)
        forgot_row = QHBoxLayout()  # under the field, apart from Unlock and Quit
        forgot_row.addWidget(self.forgot_button)
        forgot_row.addStretch(1)
        form.addRow("", forgot_row)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message_label)
        layout.addStretch(1)
        layout.addWidget(buttons)

        self._busy_keys = BusyKeys(self)
        self._grow = GrowForWrappedText(self)  # a message longer than two lines is shown whole
        self._countdown = QTimer(self)
        self._countdown.setInterval(250)
        self._countdown.timeout.connect(self._tick)
        self._check_throttle()
        if locked_reason and not self.message():
            self._show(locked_reason)  # why it asks again: e.g. locked after a time unused
        # The passphrase comes next when the name is known or may be left out.
        needs_name = not self.user_edit.text() and not self.user_edit.placeholderText()
        (self.user_edit if needs_name else self.passphrase_edit).setFocus()

    # -- state ---------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """True while the passphrase is being checked."""
        return self._task is not None

    @property
    def waiting(self) -> bool:
        """True while earlier failures impose a wait before the next attempt."""
        return self._wait_until is not None

    def message(self) -> str:
        """What the dialog currently tells the person (for tests and screen readers)."""
        return self.message_label.text()

    def _update_controls(self) -> None:
        self.unlock_button.setEnabled(not self.busy and not self.waiting)
        self.passphrase_edit.setEnabled(not self.busy)
        self.user_edit.setEnabled(not self.busy)
        self.forgot_button.setEnabled(not self.busy)
        if self.open_other_button is not None:
            self.open_other_button.setEnabled(not self.busy)

    @Slot()
    def open_other(self) -> None:
        """Choose a folder that holds another workspace; the dialog then ends so the
        start-up can ask for that one's passphrase instead."""
        if self.busy or self._choose_folder is None:
            return
        folder = ask_workspace_folder(self, self._choose_folder, self._show)
        if folder is None:
            return
        self.other_folder = folder
        self._countdown.stop()
        self.passphrase_edit.clear()
        self.done(SWITCH_WORKSPACE)

    def _show(self, text: str) -> None:
        self.message_label.setText(text)

    @Slot()
    def forgot_passphrase(self) -> None:
        """Open the recovery dialog (window-modal); the workspace it opens, with the new
        passphrase set, is this dialog's outcome as if the passphrase had been typed."""
        if self.busy or self.recover_dialog is not None:
            return
        dialog = RecoverDialog(
            self.workspace_dir,
            self,
            runner=self._runner,
            prompts=self._prompts,
            user=self.user_name(),
            choosers=self._recovery_choosers,
        )
        dialog.recovered.connect(self._on_opened)
        dialog.finished.connect(self._forget_recover_dialog)
        dialog.finished.connect(dialog.deleteLater)
        self.recover_dialog = dialog
        dialog.open()

    @Slot()
    def _forget_recover_dialog(self) -> None:
        self.recover_dialog = None

    # -- unlocking -----------------------------------------------------------------------

    @Slot()
    def _on_unlock_clicked(self) -> None:
        self.try_passphrase(self.passphrase_edit.text())

    @Slot()
    def _on_user_entered(self) -> None:
        """Enter in the User field: on to the passphrase, or unlock when it is typed."""
        if self.passphrase_edit.text():
            self._on_unlock_clicked()
        else:
            self.passphrase_edit.setFocus()

    def user_name(self) -> str:
        """The name in the User field, trimmed ('' when left empty)."""
        return " ".join(self.user_edit.text().split())

    def try_passphrase(self, passphrase: str) -> None:
        """Check `passphrase` for the user named in the User field on a worker; the outcome
        arrives as `accepted` or a message."""
        if self.busy or self.waiting:
            return
        self._focus_after = self.passphrase_edit
        if not passphrase:
            self._show("Type the passphrase, then press Unlock.")
            self.passphrase_edit.setFocus()
            return
        if not passphrase_is_encodable(passphrase):
            self._show(UNUSABLE_CHARACTER_MESSAGE)
            self.passphrase_edit.selectAll()
            self.passphrase_edit.setFocus()
            return
        root, clock, user = self.workspace_dir, self._clock, self.user_name() or None

        def work(_token: CancelToken, _progress: ProgressSink) -> Workspace:
            ws = open_workspace(root, passphrase, user=user, now=clock)
            try:
                grant_shares_made_before_grants(ws)  # once, after the upgrade to grants
                check_own_commits(ws)  # a change the offices would hold back is refused at once
            except BaseException:
                ws.close()
                raise
            return ws

        self._show("Checking the passphrase…")
        self._busy_keys.begin()  # before the field is disabled: Enter must not reach Quit
        self._task = self._runner.start(work, discard=Workspace.close)
        self._task.finished.connect(self._on_opened)
        self._task.failed.connect(self._on_failed)
        self._task.done.connect(self._on_done)
        self._update_controls()

    @Slot()
    def _on_done(self) -> None:
        self._task = None
        self._update_controls()
        self._busy_keys.end(self._focus_after)

    @Slot(object)
    def _on_opened(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.passphrase_edit.clear()
        self._show("")
        self.unlocked.emit(workspace)
        self.accept()

    @Slot(object)
    def _on_failed(self, error: BaseException) -> None:
        # The field gets the focus, its text selected, once the controls are enabled again.
        if isinstance(error, ThrottledUnlock):
            self._reason = ""
            self._start_wait(error.wait_seconds)
        elif isinstance(error, WrongPassphrase):
            self._reason = str(error)
            self._show(self._reason)
            self._check_throttle()
        elif isinstance(error, UserNeeded):
            self._show(str(error))
            self._focus_after = self.user_edit  # the name is what is missing
        elif isinstance(error, UnicodeError):
            self._show(UNUSABLE_CHARACTER_MESSAGE)
        elif isinstance(error, StorageError):
            self._show(str(error))
        else:
            self._show("The workspace could not be opened because of an error inside Valise.")
            self._prompts.report_bug(self, "Unlock failed", error)

    def reject(self) -> None:
        """Closing while a check runs cancels it; a workspace opened meanwhile is closed."""
        if self._task is not None:
            self._task.cancel()
        self._countdown.stop()
        self.passphrase_edit.clear()
        super().reject()

    # -- waiting after failures ----------------------------------------------------------

    def _check_throttle(self) -> None:
        """Start the countdown at once when earlier failures already impose a wait."""
        try:
            attempts = throttle.load(WorkspacePaths(self.workspace_dir).attempts, self._clock)
        except OSError:
            return  # unreadable record: the attempt itself will say what is wrong
        wait = attempts.wait_seconds(self._clock())
        if wait > 0:
            self._start_wait(wait)

    def _start_wait(self, seconds: float) -> None:
        self._wait_until = self._clock() + seconds
        self._countdown.start()
        self._tick()

    @Slot()
    def _tick(self) -> None:
        if self._wait_until is None:
            return
        left = math.ceil(self._wait_until - self._clock())
        prefix = f"{self._reason}\n" if self._reason else ""
        if left <= 0:
            self._wait_until = None
            self._countdown.stop()
            self._show(f"{prefix}You can try again now.")
        else:
            unit = "second" if left == 1 else "seconds"
            self._show(f"{prefix}Too many failed attempts. You can try again in {left} {unit}.")
        self._update_controls()
