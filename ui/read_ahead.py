"""Reading a lazily fetched list's next page while the window is idle, not while it scrolls.

Why: a list that fetches on demand (`canFetchMore`/`fetchMore`) reads its next page when the
view reaches the last loaded row, inside the screen being scrolled to: with 100,000 cases
every second screen of a person holding Page Down also read a page (about a third more
work than the screen itself), and on a busy machine the longest screens are what a person
feels as the window stalling. `ReadAhead` keeps a few pages loaded beyond the last row in
sight, one page per pass of an idle event loop, so scrolling finds its rows already there.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QObject, QTimer, Slot
from PySide6.QtWidgets import QAbstractItemView

# Rows kept loaded beyond the last row in sight: two screens of a tall window.
ROWS_AHEAD = 120


class ReadAhead(QObject):
    """Keeps `ROWS_AHEAD` rows loaded past the last row `view` shows, fetching one page
    at a time from a zero-delay timer (the next pass of the event loop, after what the
    person asked for is painted). It follows the view's model as it changes."""

    def __init__(self, view: QAbstractItemView, rows_ahead: int = ROWS_AHEAD) -> None:
        super().__init__(view)
        self._view = view
        self._rows_ahead = rows_ahead
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._read_one_page)
        self._model: QAbstractItemModel | None = None
        view.verticalScrollBar().valueChanged.connect(self.schedule)

    def follow(self, model: QAbstractItemModel) -> None:
        """Read ahead in `model` (the view's new model) from now on."""
        if self._model is not None:
            try:
                self._model.modelReset.disconnect(self.schedule)
                self._model.rowsInserted.disconnect(self.schedule)
            except (RuntimeError, TypeError):  # the old model is gone already
                pass
        self._model = model
        model.modelReset.connect(self.schedule)
        model.rowsInserted.connect(self.schedule)
        self.schedule()

    @Slot()
    def schedule(self) -> None:
        """Look again on the next pass of the event loop (several calls make one look)."""
        if not self._timer.isActive():
            self._timer.start()

    def rows_wanted(self) -> int:
        """How many rows should be loaded now: the last row in sight plus `rows_ahead`."""
        viewport = self._view.viewport()
        if viewport.height() <= 0 or not self._view.isVisible():
            return 0  # no row in sight: nothing to read ahead of
        last_in_sight = self._view.indexAt(viewport.rect().bottomLeft()).row()
        if last_in_sight < 0:  # the rows end above the bottom of the view, or none loaded
            last_in_sight = self._model.rowCount() - 1 if self._model is not None else 0
        return last_in_sight + 1 + self._rows_ahead

    @Slot()
    def _read_one_page(self) -> None:
        model = self._model
        top = QModelIndex()
        if model is None or model is not self._view.model() or not model.canFetchMore(top):
            return
        if model.rowCount() < self.rows_wanted():
            model.fetchMore(top)  # its rowsInserted schedules the next look
