"""The History tab of a case: every signed change to it, newest first, who made it where,
and whether its signature verifies (a changed byte anywhere shows here)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from storage.records import CaseId
from storage.workspace import Workspace
from ui.models.history_model import HistoryModel
from ui.prompts import Prompts
from ui.tasks import TaskRunner


class HistoryTab(QWidget):
    """The case's changesets from `storage.history`, read a page at a time."""

    def __init__(
        self,
        workspace: Workspace,
        case_id: CaseId,
        *,
        prompts: Prompts,
        runner: TaskRunner,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = HistoryModel(workspace.conn, case_id, self)
        explain = QLabel(
            "Every change to this case, signed by the office that made it. Changes from"
            " other offices arrive in bundles with their own signatures.",
            self,
        )
        explain.setWordWrap(True)
        explain.setTextFormat(Qt.TextFormat.PlainText)
        self.table = QTableView(self)
        self.table.setAccessibleName("Changes to this case")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)
        for column, width in ((0, 150), (1, 160), (2, 140), (3, 320), (4, 110)):
            header.resizeSection(column, width)
        layout = QVBoxLayout(self)
        layout.addWidget(explain)
        layout.addWidget(self.table, 1)

    def refresh(self) -> None:
        """Reread from the newest change."""
        self.model.refresh()
