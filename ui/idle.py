"""Idle auto-lock: notice when nobody has used Valise for a while.

An application-wide event filter records the time of the last keyboard, mouse, wheel,
touch or tablet input; a coarse timer compares it with the limit every few seconds and
emits `idle` once (KeePassXC `src/core/InactivityTimer.h` does the same). Time comes from
an injected clock so tests move a fake clock instead of sleeping.

The filter runs for every input event of the whole application, so it does the least it
can: compare the event type and store a float. It never calls a Qt method that returns
nothing there (PLATFORM.md item 1: each such call in PySide6 6.12 on Python 3.11 leaks a
reference to `None`), and it is installed only while the watcher runs.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer, Signal, Slot

Clock = Callable[[], float]

#: Input that counts as someone using the application. `ShortcutOverride` is included
#: because a key that triggers a shortcut (Ctrl+N, say) never arrives as a `KeyPress`.
ACTIVITY_EVENTS: frozenset[QEvent.Type] = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.ShortcutOverride,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TouchUpdate,
        QEvent.Type.TabletPress,
        QEvent.Type.TabletMove,
    }
)

DEFAULT_CHECK_INTERVAL_MS = 5_000


def idle_clock() -> float:
    """Seconds from an arbitrary start that keep counting while the computer sleeps.

    `time.monotonic` stops during suspend on Linux and macOS, so a laptop closed for an
    hour would come back still unlocked and give the full limit again. CLOCK_BOOTTIME
    (Linux) and macOS's CLOCK_MONOTONIC include the time asleep; elsewhere (Windows)
    `time.monotonic` already does.
    """
    if sys.platform.startswith("linux"):
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    if sys.platform == "darwin":
        return time.clock_gettime(time.CLOCK_MONOTONIC)
    return time.monotonic()


class IdleWatcher(QObject):
    """Emits `idle` once when no input arrived for `limit_seconds` while running.

    `start()` begins watching (and counts as activity), `stop()` ends it; a stopped watcher
    never emits. A limit of 0 turns auto-lock off without stopping the watcher, so a later
    limit applies from the last real input. After `idle` the watcher stops itself; the
    owner starts it again when there is something to protect again.
    """

    idle = Signal()

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        clock: Clock = idle_clock,
        limit_seconds: float = 600.0,
        check_interval_ms: int = DEFAULT_CHECK_INTERVAL_MS,
    ) -> None:
        super().__init__(parent)
        self._clock = clock
        self._limit = 0.0
        self.set_limit(limit_seconds)
        self._last_activity = clock()
        self._running = False
        self._filtering: QCoreApplication | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(check_interval_ms)
        self._timer.timeout.connect(self.check)

    # -- settings and state --------------------------------------------------------------

    @property
    def limit_seconds(self) -> float:
        """How long without input before `idle`; 0 means never."""
        return self._limit

    def set_limit(self, seconds: float) -> None:
        """Change the limit; it applies to the time since the last input, not from now."""
        if seconds < 0:
            raise ValueError("the idle limit cannot be negative")
        self._limit = float(seconds)

    @property
    def running(self) -> bool:
        """True between `start()` and `stop()` (or `idle`)."""
        return self._running

    def idle_seconds(self) -> float:
        """Seconds since the last input (or since `start`/`touch`)."""
        return self._clock() - self._last_activity

    # -- control -------------------------------------------------------------------------

    def touch(self) -> None:
        """Count as activity now; the countdown starts again."""
        self._last_activity = self._clock()

    def start(self) -> None:
        """Begin watching input; calling it again only counts as activity."""
        self.touch()
        if self._running:
            return
        self._running = True
        app = QCoreApplication.instance()
        if app is not None:
            app.installEventFilter(self)
            self._filtering = app
        self._timer.start()

    def stop(self) -> None:
        """Stop watching: no `idle` until the next `start()`. Safe to call when stopped."""
        self._running = False
        self._timer.stop()
        app, self._filtering = self._filtering, None
        if app is not None:
            app.removeEventFilter(self)

    @Slot()
    def check(self) -> None:
        """Emit `idle` (once) when running and the limit has passed; the timer calls this."""
        if not self._running or self._limit <= 0:
            return
        if self.idle_seconds() >= self._limit:
            self.stop()
            self.idle.emit()

    # -- the filter ----------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Note input as activity; never consumes an event."""
        if event.type() in ACTIVITY_EVENTS:
            self._last_activity = self._clock()
        return False
