"""The case list's tooltips: a cell's whole text, from the delegate, never as markup."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint
from PySide6.QtGui import QFont, QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip

from storage.cases import add_case
from storage.workspace import Workspace
from ui.cell_tips import FullTextTips
from ui.main_window import MainWindow
from ui.models.case_table import CaseTableModel

LONG_TITLE = "Shelling of the Kabora central market and the bus station beside it, 14 March"
MARKUP_TITLE = "<b>Not bold</b> & <a href='x'>not a link</a>"


def tooltip_over(window: MainWindow, row: int, column: int) -> str:
    """Ask the view for a tooltip over a cell, as the mouse resting there does."""
    table = window.table
    rect = table.visualRect(window.model.index(row, column))
    where = rect.center()
    event = QHelpEvent(QEvent.Type.ToolTip, where, table.viewport().mapToGlobal(where))
    QApplication.sendEvent(table.viewport(), event)
    return QToolTip.text()


def test_a_title_cut_short_shows_whole_in_its_tooltip(qtbot, ws: Workspace):
    with ws.transaction():
        add_case(ws, LONG_TITLE)
    window = MainWindow(ws)
    qtbot.addWidget(window)
    window.resize(700, 400)
    window.show()
    qtbot.waitExposed(window)
    assert isinstance(window.table.itemDelegate(), FullTextTips)
    tip = tooltip_over(window, 0, CaseTableModel.TITLE)
    assert LONG_TITLE in tip
    QToolTip.hideText()


def test_a_title_that_looks_like_markup_is_shown_as_typed(qtbot, ws: Workspace):
    """Titles come from other offices: a tooltip never renders them as rich text."""
    with ws.transaction():
        add_case(ws, MARKUP_TITLE)
    window = MainWindow(ws)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    tip = tooltip_over(window, 0, CaseTableModel.TITLE)
    assert "&lt;b&gt;Not bold&lt;/b&gt; &amp; &lt;a href='x'&gt;not a link&lt;/a&gt;" in tip
    assert "<b>" not in tip
    QToolTip.hideText()


def test_no_tooltip_below_the_last_case(qtbot, ws: Workspace):
    with ws.transaction():
        add_case(ws, "Only case")
    window = MainWindow(ws)
    qtbot.addWidget(window)
    window.resize(700, 400)
    window.show()
    qtbot.waitExposed(window)
    QToolTip.hideText()
    viewport = window.table.viewport()
    below = QPoint(10, viewport.height() - 5)
    assert not window.table.indexAt(below).isValid()
    event = QHelpEvent(QEvent.Type.ToolTip, below, viewport.mapToGlobal(below))
    QApplication.sendEvent(viewport, event)
    assert not QToolTip.isVisible()


def test_the_list_keeps_the_application_font_but_lays_out_latin_unshaped(qtbot, ws: Workspace):
    window = MainWindow(ws)
    qtbot.addWidget(window)
    font = window.table.font()
    assert font.family() == QApplication.font().family()
    assert font.pointSizeF() == QApplication.font().pointSizeF()
    assert font.styleStrategy() & QFont.StyleStrategy.PreferNoShaping
