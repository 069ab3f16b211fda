"""The audit view: the hash-chained log of who did what, with a filter and Verify.

Verifying walks the whole chain and checks it against the anchor kept outside the
database; on a large workspace that takes a while, so it runs on the task runner's
worker. While it runs the view owns the workspace's connection: it emits `busy(True)`
and the main window keeps its hands off the database until `busy(False)`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from storage import audit
from storage.workspace import Workspace
from ui.models.audit_model import AuditModel
from ui.prompts import Prompts
from ui.tasks import TaskRunner

ALL = "All entries"


class AuditView(QWidget):
    """The audit chain, newest first, filtered by kind, with a Verify button."""

    busy = Signal(bool)

    def __init__(
        self,
        workspace: Workspace,
        runner: TaskRunner,
        prompts: Prompts,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._ws = workspace
        self._runner = runner
        self._prompts = prompts
        self.model = AuditModel(workspace.conn, self)
        self.action_box = QComboBox(self)
        self.action_box.setAccessibleName("Show entries of kind")
        self.action_box.addItem(ALL, None)
        for action in audit.actions(workspace.conn):
            self.action_box.addItem(action, action)
        self.action_box.currentIndexChanged.connect(self._filter)
        self.verify_button = QPushButton("&Verify the chain", self)
        self.verify_button.setAccessibleName("Verify the audit chain")
        self.verify_button.clicked.connect(self.verify)
        self.result_label = QLabel(self)
        self.result_label.setTextFormat(Qt.TextFormat.PlainText)
        self.result_label.setAccessibleName("Verification result")
        self.result_label.setWordWrap(True)
        self.table = QTableView(self)
        self.setFocusProxy(self.table)  # when docked, the arrows and Enter reach the list
        self.table.setAccessibleName("Audit entries")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in ((0, 60), (1, 150), (2, 140), (3, 130), (4, 120)):
            header.resizeSection(column, width)
        top = QHBoxLayout()
        caption = QLabel("S&how:", self)
        caption.setBuddy(self.action_box)
        top.addWidget(caption)
        top.addWidget(self.action_box)
        top.addStretch(1)
        top.addWidget(self.verify_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.result_label)
        layout.addWidget(self.table, 1)

    @Slot()
    def _filter(self) -> None:
        self.model.set_action(self.action_box.currentData())

    @Slot()
    def verify(self) -> None:
        """Walk the chain on the worker; say plainly whether it holds."""
        ws = self._ws
        self.verify_button.setEnabled(False)
        self.action_box.setEnabled(False)
        self.result_label.setText("Verifying the audit chain…")
        self.busy.emit(True)
        task = self._runner.start(lambda _token, _sink: ws.verify_audit())
        task.finished.connect(self._verified)
        task.failed.connect(self._failed)

    def _done(self) -> None:
        self.verify_button.setEnabled(True)
        self.action_box.setEnabled(True)
        self.busy.emit(False)

    @Slot(object)
    def _verified(self, report: audit.AuditReport) -> None:
        self._done()
        self.result_label.setText(report.verdict())
        self.model.refresh()

    @Slot(object)
    def _failed(self, error: BaseException) -> None:
        self._done()
        self.result_label.setText("")
        self._prompts.report_bug(self, "Verify the audit chain", error)
