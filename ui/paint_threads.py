"""Qt's painting kept on the thread that paints, never handed to Qt's own thread pool.

Qt 6 cuts a large fill (any fill of more than 96 lines: a window's background, every
screen of the case list) and large image conversions into pieces, gives them to a pool of
threads of its own and waits until all are done. On a machine whose cores are busy each
piece first waits for a core, and the GUI thread waits for the slowest. Scrolling 100,000
cases, the GUI thread handed work to that pool and waited for it about 80 times a screen
(320,000 context switches for 4,000 screens, against 8,000 without the pool); those waits
are not counted in the thread's CPU time, and under load they were the longest stalls a
person would feel (bench/gui.py "scroll", bench/results/2026-12-07-gui-scroll-3.txt).
Filled in one piece, a screen costs the GUI thread about the same CPU and waits for nobody.

Qt reads `QT_NO_GUI_THREADPOOL` once, when it first wants the pool, so this is set before
the application object exists. Image scaling in workers (evidence previews) is then done by
the worker alone, which is where it belongs.
"""

from __future__ import annotations

import os

NO_PAINT_POOL_ENV = "QT_NO_GUI_THREADPOOL"


def paint_on_one_thread() -> None:
    """Tell Qt never to start its paint thread pool in this process; call it before the
    `QGuiApplication` is made (later calls change nothing once Qt has looked).

    Qt disables the pool when the variable is set at all, whatever its value, so a value
    already in the environment is left as it is.
    """
    os.environ.setdefault(NO_PAINT_POOL_ENV, "1")
