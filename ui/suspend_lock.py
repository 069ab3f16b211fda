"""Lock when the computer goes to sleep (issue 13: "Locking (by hand, idle, or suspend)").

On Linux, systemd-logind announces a suspend or a hibernation on the system bus with the
signal `org.freedesktop.login1.Manager.PrepareForSleep(true)` (and `false` on waking). The
window locks on the first: a laptop closed with a workspace open wakes up locked, and a
hibernation image written after the lock's re-execution holds no key.

What this does not do: hold the sleep back until the lock is done. logind offers "delay"
inhibitor locks for that; Valise takes none yet, so on a very quick suspend the lock may run
only as the machine wakes (the signal waits in the queue meanwhile). Where there is no
system bus or no logind (other systems, containers), nothing is watched, and the idle lock
still counts the time asleep (ui.idle).

Anyone on the system bus could send the signal; the worst it does is lock the window.
"""

from __future__ import annotations

from PySide6.QtCore import SLOT, QObject, Signal, Slot
from PySide6.QtDBus import QDBusConnection

LOGIND_PATH = "/org/freedesktop/login1"
LOGIND_INTERFACE = "org.freedesktop.login1.Manager"
SLEEP_SIGNAL = "PrepareForSleep"


class SleepWatcher(QObject):
    """Emits `going_to_sleep` when logind announces a suspend or hibernation."""

    going_to_sleep = Signal()

    def __init__(self, parent: QObject | None = None, bus: QDBusConnection | None = None):
        super().__init__(parent)
        connection = bus if bus is not None else QDBusConnection.systemBus()
        # The stubs say the slot is bytes; PySide6 6.11 accepts only the str SLOT() makes.
        self.listening = connection.isConnected() and connection.connect(  # type: ignore[call-overload]
            "",  # any sender: logind's well-known name is not the signal's sender name
            LOGIND_PATH,
            LOGIND_INTERFACE,
            SLEEP_SIGNAL,
            self,
            SLOT("_on_prepare_for_sleep(bool)"),
        )

    @Slot(bool)
    def _on_prepare_for_sleep(self, going: bool) -> None:
        if going:
            self.going_to_sleep.emit()
