"""A cell's whole text as its tooltip, from the view's delegate rather than the model.

A narrow column cuts a long title short ("Shelling of Kabora cen…"); hovering shows it
whole. Models usually answer `ToolTipRole` for that, but the case list's model keeps its
cells in Qt's own store so that painting never calls into Python (`ui.models.case_table`),
and storing every text a second time as its tooltip would double that store. The
delegate asks for the text only when a tooltip is due; painting stays Qt's own (this
class overrides nothing a repaint calls).
"""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolTip,
)

Index = QModelIndex | QPersistentModelIndex


class FullTextTips(QStyledItemDelegate):
    """Paints as Qt's default delegate; a tooltip shows the cell's whole text."""

    def helpEvent(
        self,
        event: QHelpEvent,
        view: QAbstractItemView,
        option: QStyleOptionViewItem,
        index: Index,
    ) -> bool:
        """A tooltip over a cell with text: that text, as plain text (titles come from
        other offices and are never markup); anything else as Qt's delegate does."""
        if event is None or view is None or event.type() != QEvent.Type.ToolTip:
            return super().helpEvent(event, view, option, index)
        text = index.data(Qt.ItemDataRole.DisplayRole) if index.isValid() else None
        if not text:
            QToolTip.hideText()
            event.ignore()
            return False
        # Qt shows a tooltip as rich text when it looks like markup: escape it.
        QToolTip.showText(event.globalPos(), _plain(str(text)), view, option.rect)
        return True


def _plain(text: str) -> str:
    """`text` shown as is by a widget that guesses rich text (Qt.mightBeRichText)."""
    return f"<p>{html.escape(text, quote=False)}</p>"
