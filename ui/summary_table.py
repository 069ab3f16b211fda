"""A sentence above a table of rows: what the Parked and Held back views are made of."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtWidgets import QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from ui.case_tabs.row_selection import setup_row_table

SAMPLE_PADDING = 16  # pixels beside a column's sample text


def summary_and_table(
    view: QWidget,
    model: QAbstractItemModel,
    *,
    names: tuple[str, str],
    description: str,
    samples: dict[int, str],
    stretch: int,
) -> tuple[QLabel, QTableView]:
    """Lay out a plain-text summary above a table of whole rows in `view`: `names` are the
    accessible names of the summary and the table, `samples` size columns to a typical
    value, the `stretch` column takes the room left (a long sentence), so a view docked
    beside a narrow window scrolls sideways rather than cutting every column."""
    summary = QLabel(view)
    summary.setTextFormat(Qt.TextFormat.PlainText)
    summary.setWordWrap(True)
    summary.setAccessibleName(names[0])
    table = QTableView(view)
    table.setModel(model)
    table.setAccessibleName(names[1])
    table.setAccessibleDescription(description)
    setup_row_table(table)
    table.setWordWrap(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    for column, sample in samples.items():
        header.resizeSection(column, view.fontMetrics().horizontalAdvance(sample) + SAMPLE_PADDING)
    header.setStretchLastSection(False)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    layout = QVBoxLayout(view)
    layout.addWidget(summary)
    layout.addWidget(table, 1)
    return summary, table
