"""The case list paints the pixels Qt's own table paints, with its grid lines filled
rather than stroked (`ui.filled_grid`): compared here pixel for pixel, under the Fusion
style, with a plain `QTableView` showing the same rows in the same states (scrolled part
way into a row, a column cut short, a row selected, sections hidden and moved, right to
left, repainted in part)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QImage, QRegion, QStandardItemModel
from PySide6.QtWidgets import (
    QApplication,
    QStyleFactory,
    QTableView,
)

from storage.cases import add_case
from storage.workspace import Workspace
from ui.filled_grid import FilledGridTableView
from ui.main_window import MainWindow

TITLES = (
    "Shelling of the Kabora central market and the bus station beside it",
    "Detention at the river crossing",
    "Looting of the clinic",
)


def _rows(count: int = 60) -> QStandardItemModel:
    model = QStandardItemModel(count, 4)
    for row in range(count):
        for column, text in enumerate(
            (f"KAB-2026-{row:04d}", TITLES[row % len(TITLES)], "Open", "2026-03-14")
        ):
            model.setData(model.index(row, column), text)
    return model


@pytest.fixture
def fusion() -> Iterator[None]:
    """Qt's default style on Linux, where both ways are claimed to paint the same."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = app.style().name()
    app.setStyle(QStyleFactory.create("Fusion"))
    yield
    app.setStyle(QStyleFactory.create(before))


def _pair(qtbot, model: QStandardItemModel) -> tuple[QTableView, QTableView]:
    """A plain `QTableView` and a `FilledGridTableView` on the same rows, side by side."""
    views = (QTableView(), FilledGridTableView())
    for view in views:
        qtbot.addWidget(view)
        view.setModel(model)
        view.setAlternatingRowColors(True)
        view.verticalHeader().hide()
        view.resize(520, 300)
        view.show()
        qtbot.waitExposed(view)
    return views


def _picture(view: QTableView, area: QRect | None = None) -> QImage:
    """The viewport painted whole, or only `area` of it (a partial repaint, as after a
    selection change) over magenta."""
    QApplication.processEvents()
    viewport = view.viewport()
    image = QImage(viewport.size(), QImage.Format.Format_ARGB32)
    image.fill(QColor("magenta"))
    region = QRegion(area) if area is not None else QRegion(viewport.rect())
    viewport.render(image, QPoint(), region)
    return image


def _same_pixels(first: QImage, second: QImage) -> bool:
    return first.size() == second.size() and first == second


def _both(views: tuple[QTableView, QTableView], change: Callable[[QTableView], object]) -> None:
    for view in views:
        change(view)


def _assert_same(views: tuple[QTableView, QTableView], area: QRect | None = None) -> None:
    plain, filled = (_picture(view, area) for view in views)
    assert _same_pixels(plain, filled)


def test_the_case_list_fills_its_grid_rather_than_stroking_it(qtbot, ws: Workspace):
    with ws.transaction():
        add_case(ws, "Detention at the river crossing")
    window = MainWindow(ws)
    qtbot.addWidget(window)
    table = window.table
    assert isinstance(table, FilledGridTableView)
    assert table.showGrid()
    assert table.gridStyle() == Qt.PenStyle.SolidLine  # as asked for
    # Qt itself strokes nothing: the grid's pixels are filled after the cells.
    assert QTableView.gridStyle(table) == Qt.PenStyle.NoPen


@pytest.mark.usefixtures("fusion")
def test_filled_grid_lines_are_the_pixels_qt_strokes(qtbot):
    views = _pair(qtbot, _rows())
    _assert_same(views)
    # Scrolled by whole screens and then part way into a row.
    _both(views, lambda view: view.verticalScrollBar().setValue(9 * 30 + 13))
    _assert_same(views)
    _both(views, lambda view: view.setColumnWidth(1, 90))
    _assert_same(views)
    _both(views, lambda view: view.selectRow(12))
    _assert_same(views)
    _assert_same(views, QRect(37, 41, 300, 77))
    _assert_same(views, QRect(200, 0, 5, 300))


@pytest.mark.usefixtures("fusion")
def test_filled_grid_with_hidden_and_moved_sections(qtbot):
    views = _pair(qtbot, _rows())
    _both(views, lambda view: view.setColumnHidden(2, True))
    _both(views, lambda view: view.setRowHidden(3, True))
    _both(views, lambda view: view.horizontalHeader().moveSection(0, 3))
    _both(views, lambda view: view.verticalHeader().moveSection(1, 6))
    _assert_same(views)
    _assert_same(views, QRect(10, 10, 400, 150))


@pytest.mark.usefixtures("fusion")
def test_filled_grid_right_to_left(qtbot):
    views = _pair(qtbot, _rows())
    _both(views, lambda view: view.setLayoutDirection(Qt.LayoutDirection.RightToLeft))
    _both(views, lambda view: view.setColumnWidth(1, 90))
    _assert_same(views)
    _both(views, lambda view: view.horizontalScrollBar().setValue(40))
    _assert_same(views)
    _assert_same(views, QRect(300, 20, 200, 200))


@pytest.mark.usefixtures("fusion")
def test_no_grid_and_dashed_grid_are_left_to_qt(qtbot):
    views = _pair(qtbot, _rows())
    _both(views, lambda view: view.setGridStyle(Qt.PenStyle.DashLine))
    filled = views[1]
    assert filled.gridStyle() == Qt.PenStyle.DashLine
    assert QTableView.gridStyle(filled) == Qt.PenStyle.DashLine  # Qt strokes the dashes
    _assert_same(views)
    _both(views, lambda view: view.setGridStyle(Qt.PenStyle.SolidLine))
    _both(views, lambda view: view.setShowGrid(False))
    _assert_same(views)


def test_an_empty_table_paints_no_grid(qtbot):
    views = _pair(qtbot, QStandardItemModel(0, 4))
    _assert_same(views)
