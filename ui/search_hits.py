"""Search hits drawn with their matched words highlighted.

A hit's title and snippet come from records other offices wrote, so they are data, never
markup: each piece is escaped before it becomes rich text, control characters are shown
as a visible replacement, and only the pieces the search itself marked as matched
(`storage.search.SearchHit.parts`) are highlighted. The list item keeps the plain text
(for screen readers, copying and tests); the delegate draws the highlighted document.
"""

from __future__ import annotations

import html
import re
import unicodedata

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QAbstractTextDocumentLayout, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from storage.search import SearchHit, SnippetParts

HitPartsRole = Qt.ItemDataRole.UserRole + 2  # (heading, parts) of a hit
HIGHLIGHT = "background-color: #fff0a8; color: #000000; font-weight: bold"
Index = QModelIndex | QPersistentModelIndex


# Characters that reorder the text around them (bidirectional embeddings, overrides and
# isolates): from another office's record they could make a hit read as something else.
_REORDERING = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_WHITE_SPACE = re.compile(r"\s+")


def shown_text(text: str) -> str:
    """`text` on one line: each run of white space becomes one space; other control
    characters and reordering marks become U+FFFD, visible instead of acting."""
    line = _WHITE_SPACE.sub(" ", text)
    return "".join(
        "\ufffd" if char in _REORDERING or unicodedata.category(char) == "Cc" else char
        for char in line
    )


def hit_heading(hit: SearchHit) -> str:
    """The first line of a hit: its case, what kind of record, its title."""
    return f"{hit.case_reference or 'no case'} · {hit.entity} · {hit.title}"


def hit_plain_text(hit: SearchHit) -> str:
    """What the hit says, without highlighting (the list item's text)."""
    heading = shown_text(hit_heading(hit)).strip()
    snippet = shown_text("".join(text for text, _ in hit.parts)).strip()
    return f"{heading}\n{snippet}" if snippet else heading


def hit_html(heading: str, parts: SnippetParts) -> str:
    """Rich text for a hit: every piece escaped, the matched pieces highlighted."""
    lines = [html.escape(shown_text(heading).strip(), quote=True)]
    if parts:
        pieces = []
        for text, matched in parts:
            escaped = html.escape(shown_text(text), quote=True)
            pieces.append(f'<span style="{HIGHLIGHT}">{escaped}</span>' if matched else escaped)
        lines.append("".join(pieces))
    return "<br>".join(lines)


def hit_document(heading: str, parts: SnippetParts, width: float = -1) -> QTextDocument:
    """The document the delegate draws for a hit (rich text made from escaped data)."""
    document = QTextDocument()
    document.setDocumentMargin(2)
    document.setHtml(hit_html(heading, parts))
    document.setTextWidth(width)
    return document


class SearchHitDelegate(QStyledItemDelegate):
    """Draws a hit as its heading and its snippet with the matched words highlighted."""

    def document_for(self, index: Index, width: float = -1) -> QTextDocument | None:
        """The document drawn for `index`, or None for an item without a hit."""
        value = index.data(HitPartsRole)
        if not isinstance(value, tuple) or len(value) != 2:
            return None
        heading, parts = value
        return hit_document(str(heading), parts, width)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        """The item's background and focus as the style draws them, then the document."""
        document = self.document_for(index)
        if document is None:
            super().paint(painter, option, index)
            return
        item = QStyleOptionViewItem(option)
        self.initStyleOption(item, index)
        item.text = ""
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, item, painter, widget)
        area = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, item, widget)
        context = QAbstractTextDocumentLayout.PaintContext()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        context.palette.setColor(QPalette.ColorRole.Text, option.palette.color(role))
        painter.save()
        painter.translate(area.topLeft())
        painter.setClipRect(area.translated(-area.topLeft()))
        document.setTextWidth(area.width())
        document.documentLayout().draw(painter, context)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        """As tall as the document wrapped at the list's width."""
        widget = option.widget
        viewport = getattr(widget, "viewport", None)
        width = viewport().width() - 8 if callable(viewport) else -1
        document = self.document_for(index, width)
        if document is None:
            return super().sizeHint(option, index)
        size = document.size()
        return QSize(int(width if width > 0 else size.width()), int(size.height()) + 2)
