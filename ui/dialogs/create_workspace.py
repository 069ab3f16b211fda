"""First run: name the office and yourself, choose a passphrase, and create the encrypted
workspace.

The person who creates the workspace is its first user, a supervisor (issue 13): their
name is asked here, checked with the rule the storage layer enforces
(`storage.users.name_problem`), and carried by their changes and audit entries. Without it
every office's first user was called "Supervisor".

The passphrase is judged as it is typed with the same rule the storage layer enforces
(`storage.passphrase.weakness`), so the reason for a refusal is visible before pressing
Create. Creating derives the key with Argon2id, so it runs on a worker.

An office set up by the tribunal may name its authority over revocation here (issue 11:
"named when the office is set up"), as `valise init --authority CARD
--authority-fingerprint DIGITS` does: the authority's contact card, and the digits its
holder reads out, typed and checked before anything is created. It is named right after
the workspace is created, by the same call (`sync.trust.name_authority_card`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from storage.errors import StorageError
from storage.keyfile import STANDARD_KDF, KdfParams
from storage.users import MAX_NAME, name_problem
from storage.workspace import Workspace, create_workspace
from sync import trust
from sync.authority import check_own_commits
from sync.cards import ContactCard
from sync.errors import BadCard
from ui.dialogs._common import (
    SWITCH_WORKSPACE,
    UNUSABLE_CHARACTER_MESSAGE,
    FolderChooser,
    GrowForWrappedText,
    ask_workspace_folder,
    choose_workspace_folder,
    message_label,
    with_line_under,
)
from ui.dialogs.busy import BusyKeys
from ui.dialogs.form_fields import caption
from ui.dialogs.new_passphrase import NewPassphraseFields
from ui.dialogs.trust_dialogs import AuthorityDialog
from ui.peers_view import OpenChooser, choose_card_file, load_card, shown_name
from ui.prompts import Prompts
from ui.tasks import CancelToken, ProgressSink, Task, TaskRunner, shared_runner

YOUR_NAME_HINT = (
    "You are this workspace's first user, a supervisor. Your changes and the audit log"
    " carry this name, and you will type it to unlock once there are other users."
)
NO_AUTHORITY_YET = "None (optional): the tribunal's liaison, if it set up this office."

# (parent, card, our fingerprint) -> the digits typed, matching its card, or None
AuthorityAsker = Callable[[QWidget, ContactCard, str], str | None]


class CreateWorkspaceDialog(QDialog):
    """Creates a workspace in `workspace_dir`; after `accepted`, `workspace` is open.

    The caller owns the returned workspace and must close it. `kdf` is the Argon2id cost;
    only tests pass anything but the standard one.
    """

    created = Signal(object)

    def __init__(
        self,
        workspace_dir: Path,
        parent: QWidget | None = None,
        *,
        kdf: KdfParams = STANDARD_KDF,
        runner: TaskRunner | None = None,
        prompts: Prompts | None = None,
        choose_folder: FolderChooser = choose_workspace_folder,
        choose_card: OpenChooser = choose_card_file,
        ask_digits: AuthorityAsker = AuthorityDialog.ask,
    ) -> None:
        super().__init__(parent)
        self.workspace_dir = Path(workspace_dir)
        self.workspace: Workspace | None = None
        self.other_folder: Path | None = None  # chosen with "Open an existing workspace…"
        self._choose_folder = choose_folder
        self._kdf = kdf
        self._runner = runner or shared_runner()
        self._prompts = prompts or Prompts()
        self._task: Task | None = None
        self._choose_card = choose_card
        self._ask_digits = ask_digits
        self.authority: tuple[ContactCard, str] | None = None  # card and the digits checked

        self.setWindowTitle("Create a workspace — Valise")
        self.setAccessibleName("Create a workspace")
        self.setMinimumWidth(520)

        intro = message_label("About this dialog", self)
        intro.setText(
            "Valise keeps this office's cases in an encrypted workspace in\n"
            f"{self.workspace_dir}\n"
            "Nobody can open it without the passphrase you choose now, not even support: "
            "if it is lost, the workspace is lost."
        )
        self.office_name_edit = QLineEdit(self)
        self.office_name_edit.setAccessibleName("Office name")
        self.office_name_edit.setPlaceholderText("e.g. Kabora field office")
        self.office_name_edit.setMaxLength(200)
        self.office_code_edit = QLineEdit(self)
        self.office_code_edit.setAccessibleName("Office code (optional)")
        self.office_code_edit.setPlaceholderText("optional, 2 to 8 letters or digits, e.g. KAB")
        self.office_code_edit.setMaxLength(8)
        self.office_code_edit.setValidator(
            QRegularExpressionValidator(r"[A-Za-z0-9]{0,8}", self.office_code_edit)
        )
        self.user_name_edit = QLineEdit(self)
        self.user_name_edit.setAccessibleName("Your name")
        self.user_name_edit.setAccessibleDescription(YOUR_NAME_HINT)
        self.user_name_edit.setPlaceholderText("e.g. Amina Diallo")
        self.user_name_edit.setMaxLength(MAX_NAME)
        self.user_name_hint = message_label("About your name", self)
        self.user_name_hint.setText(YOUR_NAME_HINT)
        self.new_passphrase = NewPassphraseFields(self)
        self.passphrase_edit = self.new_passphrase.passphrase_edit
        self.repeat_edit = self.new_passphrase.repeat_edit
        self.strength_label = self.new_passphrase.strength_label
        self.match_label = self.new_passphrase.match_label
        self.show_check = self.new_passphrase.show_check
        self.authority_label = message_label("Authority over revocation", self)
        self.authority_label.setText(NO_AUTHORITY_YET)
        self.authority_button = QPushButton("Choose its contact c&ard…", self)
        self.authority_button.setAccessibleName("Choose the authority's contact card")
        self.authority_button.setToolTip(
            "A key whose revocations of other offices' keys count here without asking"
            " (you can also name one later: Sync › Trust and revocations…)"
        )
        self.authority_button.clicked.connect(self.choose_authority)
        self.error_label = message_label("Create message", self)
        bold = self.error_label.font()
        bold.setBold(True)
        self.error_label.setFont(bold)

        buttons = QDialogButtonBox(self)
        self.create_button = QPushButton("Create", self)
        self.create_button.setAccessibleName("Create workspace")
        self.create_button.setDefault(True)
        self.cancel_button = QPushButton("Quit", self)
        self.cancel_button.setAccessibleName("Quit")
        self.open_other_button = QPushButton("Open an &existing workspace…", self)
        self.open_other_button.setAccessibleName("Open an existing workspace")
        self.open_other_button.setToolTip(
            "A workspace made earlier, restored from a backup, or on another disk"
        )
        self.open_other_button.clicked.connect(self.open_other)
        buttons.addButton(self.open_other_button, QDialogButtonBox.ButtonRole.ResetRole)
        buttons.addButton(self.create_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)

        form = QFormLayout()
        form.addRow("Office &name:", self.office_name_edit)
        form.addRow("Office &code:", self.office_code_edit)
        # A field with a line under it gets its own caption: a caption made by addRow would
        # name the box around both as its buddy, and its mnemonic would reach no field.
        form.addRow(
            caption("&Your name:", self.user_name_edit, self),
            with_line_under(self.user_name_edit, self.user_name_hint),
        )
        self.new_passphrase.add_rows(form, "&Passphrase:", "&Repeat it:")
        authority_box = QWidget(self)
        authority_column = QVBoxLayout(authority_box)
        authority_column.setContentsMargins(0, 0, 0, 0)
        authority_column.addWidget(self.authority_button, 0, Qt.AlignmentFlag.AlignLeft)
        authority_column.addWidget(self.authority_label)
        form.addRow("Authority:", authority_box)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addSpacing(8)
        layout.addLayout(form)
        layout.addSpacing(8)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        layout.addWidget(buttons)

        self.create_button.clicked.connect(self.try_create)
        self.cancel_button.clicked.connect(self.reject)
        self._busy_keys = BusyKeys(self)
        self._grow = GrowForWrappedText(self)  # a verdict that wraps is shown whole

    def problem(self) -> tuple[str, QLineEdit] | None:
        """The first reason not to create yet, with the field to fix; None when all is well."""
        if not self.office_name_edit.text().strip():
            return "Give the office a name, as it should appear on reports.", self.office_name_edit
        if not self.user_name_edit.text().strip():
            return "Give your name: the one you will type to unlock.", self.user_name_edit
        if name_trouble := name_problem(self.user_name_edit.text()):
            return name_trouble, self.user_name_edit
        return self.new_passphrase.problem()

    def message(self) -> str:
        """The refusal or error now shown (for tests and screen readers)."""
        return self.error_label.text()

    # -- creating ------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """True while the workspace is being created."""
        return self._task is not None

    @Slot()
    def try_create(self) -> None:
        """Refuse with the first problem, or create the workspace on a worker."""
        if self.busy:
            return
        found = self.problem()
        if found:
            text, field = found
            self.error_label.setText(text)
            field.setFocus()
            field.selectAll()
            return
        root, kdf = self.workspace_dir, self._kdf
        office = self.office_name_edit.text().strip()
        code = self.office_code_edit.text().strip() or None
        user = self.user_name_edit.text()
        passphrase = self.passphrase_edit.text()
        authority = self.authority

        def work(_token: CancelToken, _progress: ProgressSink) -> Workspace:
            ws = create_workspace(root, office, passphrase, office_code=code, user=user, kdf=kdf)
            try:
                check_own_commits(ws)  # a change the offices would hold back is refused
                if authority is not None:
                    trust.name_authority_card(ws, *authority)  # as `valise init --authority`
            except BaseException:
                ws.close()
                raise
            return ws

        self.error_label.setText("Creating the workspace…")
        self._busy_keys.begin()  # before the fields are disabled: Enter must not reach Quit
        self._task = self._runner.start(work, discard=Workspace.close)
        self._task.finished.connect(self._on_created)
        self._task.failed.connect(self._on_failed)
        self._task.done.connect(self._on_done)
        self._set_enabled(False)

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (
            self.office_name_edit,
            self.office_code_edit,
            self.user_name_edit,
            self.passphrase_edit,
            self.repeat_edit,
            self.authority_button,
            self.create_button,
            self.open_other_button,
        ):
            widget.setEnabled(enabled)

    @Slot()
    def _on_done(self) -> None:
        self._task = None
        self._set_enabled(True)
        self._busy_keys.end()  # back to the field (or button) that had the focus

    @Slot(object)
    def _on_created(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.passphrase_edit.clear()
        self.repeat_edit.clear()
        self.error_label.setText("")
        self.created.emit(workspace)
        self.accept()

    @Slot(object)
    def _on_failed(self, error: BaseException) -> None:
        if isinstance(error, StorageError):
            self.error_label.setText(str(error))
        elif isinstance(error, UnicodeError):
            self.error_label.setText(UNUSABLE_CHARACTER_MESSAGE)
        else:
            self.error_label.setText("The workspace could not be created (an error in Valise).")
            self._prompts.report_bug(self, "Creating the workspace failed", error)

    @Slot()
    def choose_authority(self) -> None:
        """Read the authority's card and ask for the digits its holder reads out; only
        when they match is it kept, to be named as the workspace is created."""
        if self.busy:
            return
        path = self._choose_card(self, "Open the authority's contact card")
        if path is None:
            return
        try:
            card = load_card(path)
        except BadCard as exc:
            self.error_label.setText(f"{exc} Ask the authority for its contact card file again.")
            return
        digits = self._ask_digits(self, card, "")
        if digits is None:
            return  # a cancel keeps what was chosen before
        self.authority = (card, digits)
        groups = " ".join(card.fingerprint.split()[:2])
        self.authority_label.setText(
            f"{shown_name(card.office_name)} ({groups}…): its digits match; it is named as"
            " the workspace is created."
        )
        self.error_label.setText("")

    @Slot()
    def open_other(self) -> None:
        """Choose a folder that holds a workspace; the dialog then ends so the start-up
        can ask for that workspace's passphrase instead."""
        if self.busy:
            return
        folder = ask_workspace_folder(self, self._choose_folder, self.error_label.setText)
        if folder is None:
            return
        self.other_folder = folder
        self.passphrase_edit.clear()
        self.repeat_edit.clear()
        self.done(SWITCH_WORKSPACE)

    def reject(self) -> None:
        """Closing while creating cancels; a workspace created meanwhile is closed again."""
        if self._task is not None:
            self._task.cancel()
        self.passphrase_edit.clear()
        self.repeat_edit.clear()
        super().reject()
