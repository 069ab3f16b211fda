"""The unlock dialog: a passphrase in, an open `Workspace` out.

Key derivation (Argon2id, ~0.2 s) runs on a worker so the dialog keeps painting. A wrong
passphrase keeps the dialog open with a plain message; after several, the storage layer
imposes a growing wait, which the dialog shows as a countdown with the button disabled.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from storage import throttle
from storage.errors import StorageError, ThrottledUnlock, WrongPassphrase
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
from ui.prompts import Prompts
from ui.tasks import CancelToken, ProgressSink, Task, TaskRunner, shared_runner


class UnlockDialog(QDialog):
    """Asks for the passphrase and opens the workspace in `workspace_dir`.

    After `accepted`, `workspace` holds the open Workspace; the caller owns it and must
    close it. `unlocked(workspace)` is emitted just before. `clock` is the wall clock the
    storage layer times failed attempts with; the countdown follows the same clock.
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

        self.setWindowTitle("Unlock workspace — Valise")
        self.setAccessibleName("Unlock workspace")
        self.setMinimumWidth(440)

        intro = message_label("About this dialog", self)
        intro.setText(
            f"Type the passphrase of the workspace in\n{self.workspace_dir}\nto open its cases."
        )
        self.passphrase_edit = QLineEdit(self)
        self.passphrase_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase_edit.setAccessibleName("Passphrase")
        self.passphrase_edit.setAccessibleDescription("The passphrase chosen for this workspace")
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
        self.unlock_button.clicked.connect(self._on_unlock_clicked)
        self.quit_button.clicked.connect(self.reject)
        self.passphrase_edit.returnPressed.connect(self._on_unlock_clicked)

        form = QFormLayout()
        form.addRow("&Passphrase:", self.passphrase_edit)
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

    # -- unlocking -----------------------------------------------------------------------

    @Slot()
    def _on_unlock_clicked(self) -> None:
        self.try_passphrase(self.passphrase_edit.text())

    def try_passphrase(self, passphrase: str) -> None:
        """Check `passphrase` on a worker; the outcome arrives as `accepted` or a message."""
        if self.busy or self.waiting:
            return
        if not passphrase:
            self._show("Type the passphrase, then press Unlock.")
            self.passphrase_edit.setFocus()
            return
        if not passphrase_is_encodable(passphrase):
            self._show(UNUSABLE_CHARACTER_MESSAGE)
            self.passphrase_edit.selectAll()
            self.passphrase_edit.setFocus()
            return
        root, clock = self.workspace_dir, self._clock

        def work(_token: CancelToken, _progress: ProgressSink) -> Workspace:
            ws = open_workspace(root, passphrase, now=clock)
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
        self._busy_keys.end(self.passphrase_edit)

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
