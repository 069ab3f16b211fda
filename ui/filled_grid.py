"""A table view whose grid lines are filled one-pixel rectangles, not stroked lines.

`QTableView` draws its grid with a one-pixel pen. Qt's raster engine strokes such a line a
pixel at a time, each pixel a span of its own handed to the blending function: for the case
list (a line under every row across the window, one beside every column) that was a fifth
of the instructions of a repaint, as much as laying out all the cells' text
(bench/results/2026-12-07-gui-scroll-5.txt). A one-pixel rectangle of the same colour is a
run of memory filled at once and looks the same, pixel for pixel.

The view keeps Qt's grid geometry: `showGrid` still leaves its pixel between the cells
(cells are painted a pixel smaller), Qt is only told to stroke nothing there (grid style
`Qt.NoPen`), and `paintEvent` fills the same pixels afterwards, following the rules of
`QTableView::paintEvent` (hidden and moved sections, right-to-left, the style's grid
colour). `gridStyle()` answers the style asked for; anything but a solid line is left to
Qt, which alone knows how to dash it.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QHeaderView, QStyle, QStyleOptionViewItem, QTableView, QWidget


class FilledGridTableView(QTableView):
    """A `QTableView` that fills its solid grid lines as rectangles (see the module)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._grid_style = Qt.PenStyle.SolidLine
        super().setGridStyle(Qt.PenStyle.NoPen)

    def setGridStyle(self, style: Qt.PenStyle) -> None:
        """The grid's pen style; a solid grid is filled here, any other stroked by Qt."""
        self._grid_style = style
        super().setGridStyle(Qt.PenStyle.NoPen if self._fills_grid() else style)

    def gridStyle(self) -> Qt.PenStyle:
        """The grid's pen style as set, whoever draws it."""
        return self._grid_style

    def _fills_grid(self) -> bool:
        return self._grid_style == Qt.PenStyle.SolidLine

    def paintEvent(self, event: QPaintEvent) -> None:
        """Cells as Qt paints them, then the grid lines filled where Qt would stroke them."""
        super().paintEvent(event)
        if self.showGrid() and self._fills_grid():
            self._fill_grid(event)

    def _style_hints(self) -> tuple[QColor, bool]:
        """The grid's colour, and whether the style wants lines along the top and leading
        edge where the headers are hidden: asked of the style as `QTableView` asks."""
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        style = self.style()
        color = style.styleHint(QStyle.StyleHint.SH_Table_GridLineColor, option, self)
        left_top = style.styleHint(
            QStyle.StyleHint.SH_Table_AlwaysDrawLeftTopGridLines, option, self
        )
        return QColor.fromRgba(color & 0xFFFFFFFF), bool(left_top)

    def _grid_rects(self, area: QRect, left_top: bool) -> list[QRect]:
        """The one-pixel rectangles of the grid lines that `QTableView` would stroke for
        the dirty `area` of the viewport (in viewport coordinates)."""
        rows, columns = self.verticalHeader(), self.horizontalHeader()
        if rows.count() == 0 or columns.count() == 0 or self.model() is None:
            return []
        right_to_left = self.isRightToLeft()
        dirty = QRect(area)
        dirty.setBottom(min(dirty.bottom(), rows.length() - rows.offset() - 1))
        if right_to_left:
            width = self.viewport().width()
            dirty.setLeft(max(dirty.left(), width - (columns.length() - columns.offset())))
        else:
            dirty.setRight(min(dirty.right(), columns.length() - columns.offset() - 1))
        if not dirty.isValid():
            return []
        left, right = columns.visualIndexAt(dirty.left()), columns.visualIndexAt(dirty.right())
        if right_to_left:
            left, right = right, left
        left = 0 if left == -1 else left
        right = columns.count() - 1 if right == -1 else right
        top, bottom = rows.visualIndexAt(dirty.top()), rows.visualIndexAt(dirty.bottom())
        bottom = rows.count() - 1 if bottom == -1 else bottom
        if top == -1 or top > bottom:
            return []
        x, width, y, height = dirty.left(), dirty.width(), dirty.top(), dirty.height()
        rects = [QRect(x, end - 1, width, 1) for end in _section_ends(rows, top, bottom)]
        if right_to_left:
            starts = _section_starts(columns, left, right)
            rects.extend(QRect(start, y, 1, height) for start in starts)
        else:
            ends = _section_ends(columns, left, right)
            rects.extend(QRect(end - 1, y, 1, height) for end in ends)
        if left_top:
            rects.extend(self._left_top_lines(dirty, top, left))
        return rects

    def _left_top_lines(self, dirty: QRect, top: int, left: int) -> list[QRect]:
        """The lines a style asks for along the top and the leading edge when the headers
        there are hidden (`SH_Table_AlwaysDrawLeftTopGridLines`)."""
        rows, columns = self.verticalHeader(), self.horizontalHeader()
        rects: list[QRect] = []
        row = rows.logicalIndex(top)
        if columns.isHidden() and not rows.isSectionHidden(row):
            y = rows.sectionViewportPosition(row)
            if y == dirty.top():
                rects.append(QRect(dirty.left(), y, dirty.width(), 1))
        column = columns.logicalIndex(left)
        if rows.isHidden() and not columns.isSectionHidden(column):
            x = columns.sectionViewportPosition(column)
            if self.isRightToLeft():
                x += columns.sectionSize(left) - 1
            if x == (dirty.right() if self.isRightToLeft() else dirty.left()):
                rects.append(QRect(x, dirty.top(), 1, dirty.height()))
        return rects

    def _fill_grid(self, event: QPaintEvent) -> None:
        color, left_top = self._style_hints()
        region: Iterable[QRect] = event.region()  # type: ignore[assignment]  # iterable in PySide6
        rects = [rect for area in region for rect in self._grid_rects(area, left_top)]
        if not rects:
            return
        painter = QPainter(self.viewport())
        try:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(color)
            painter.drawRects(rects)
        finally:
            painter.end()


def _section_ends(header: QHeaderView, first: int, last: int) -> list[int]:
    """Where each shown section from visual index `first` to `last` ends in the viewport
    (one past its last pixel), in visual order."""
    if not header.sectionsHidden() and not header.sectionsMoved():
        # Visual order is logical order and every section is shown: one position, then
        # each size (the common case, a screenful of rows, a call a row).
        end, ends = header.sectionViewportPosition(first), []
        for section in range(first, last + 1):
            end += header.sectionSize(section)
            ends.append(end)
        return ends
    ends = []
    for visual in range(first, last + 1):
        section = header.logicalIndex(visual)
        if not header.isSectionHidden(section):
            ends.append(header.sectionViewportPosition(section) + header.sectionSize(section))
    return ends


def _section_starts(header: QHeaderView, first: int, last: int) -> list[int]:
    """Where each shown section from visual index `first` to `last` starts in the
    viewport, in visual order."""
    starts = []
    for visual in range(first, last + 1):
        section = header.logicalIndex(visual)
        if not header.isSectionHidden(section):
            starts.append(header.sectionViewportPosition(section))
    return starts
