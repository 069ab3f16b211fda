"""The application paints on its GUI thread alone: no fill is handed to Qt's thread pool.

Qt decides once per process whether it has a paint pool, so each case runs in a fresh
process: it makes the application, paints a screen of the case list's size many times, and
counts its threads named as Qt names the pool's ("Thread (pooled)")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ui.paint_threads import NO_PAINT_POOL_ENV

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="threads are counted in /proc/self/task"
)

# A window the size the scroll benchmark uses, showing a table of 5 columns by 100 rows,
# repainted 20 times as if scrolled; then the threads of the process by name, and the
# voluntary context switches of the GUI thread while painting (each one a wait).
PAINT_A_TABLE = """
import json, os, resource, sys
from pathlib import Path
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QApplication, QTableView

if sys.argv[1] == "application":
    from desktop.gui import _application
    app = _application()
else:
    app = QApplication([])
model = QStandardItemModel(100, 5)
for row in range(100):
    for column in range(5):
        model.setItem(row, column, QStandardItem(f"Case {row} column {column}"))
view = QTableView()
view.setAlternatingRowColors(True)
view.setModel(model)
view.resize(1200, 760)
view.show()
app.processEvents()
waits = resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw
for step in range(20):
    view.verticalScrollBar().setValue(step * 3)
    view.viewport().repaint()
waits = resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw - waits
names = [
    (task / "comm").read_text().strip() for task in Path("/proc/self/task").iterdir()
]
print(json.dumps({"pooled": names.count("Thread (pooled)"), "waits": waits}))
"""


def paint_in_fresh_process(how: str) -> dict[str, int]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    env.pop(NO_PAINT_POOL_ENV, None)  # as a person's session has it
    done = subprocess.run(
        [sys.executable, "-c", PAINT_A_TABLE, how],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_application_paints_a_screen_of_cases_without_qt_paint_threads() -> None:
    painted = paint_in_fresh_process("application")
    assert painted["pooled"] == 0
    # Painting never waited for another thread: nothing to wait for (a switch or two may
    # come from the platform plugin; the pool made one per piece of every large fill).
    assert painted["waits"] < 20


def test_without_the_setting_qt_hands_large_fills_to_its_pool_and_waits() -> None:
    """The cause the setting removes, shown on the same screen: a bare QApplication."""
    painted = paint_in_fresh_process("bare")
    assert painted["pooled"] > 0
    assert painted["waits"] >= 20
