"""Lock when the computer goes to sleep (issue 13: "Locking (by hand, idle, or suspend)").

On Linux, systemd-logind announces a suspend or a hibernation on the system bus with the
signal `org.freedesktop.login1.Manager.PrepareForSleep(true)` (and `false` on waking). The
window locks on the first: a laptop closed with a workspace open wakes up locked, and a
hibernation image written after the lock's re-execution holds no key.

So that the lock is done *before* the machine sleeps, the watcher holds a logind "delay"
inhibitor lock while a workspace is open: logind then waits for Valise (at most its
`InhibitDelayMaxSec`, 5 s by default) until the inhibitor's file descriptor is closed. The
lock re-executes Valise (desktop.relock), and the exec closes that descriptor (it is
close-on-exec), so logind goes on exactly when the old memory is gone. The inhibitor is
asked for without blocking the window (an asynchronous call); without logind it is simply
not held.

Where there is no system bus or no logind (other systems, containers), nothing is watched,
and the idle lock still counts the time asleep (ui.idle). Anyone on the system bus could
send the signal; the worst it does is lock the window.
"""

from __future__ import annotations

import contextlib
import os

from PySide6.QtCore import SLOT, QObject, Signal, Slot
from PySide6.QtDBus import (
    QDBusConnection,
    QDBusMessage,
    QDBusPendingCallWatcher,
    QDBusUnixFileDescriptor,
)

LOGIND_SERVICE = "org.freedesktop.login1"
LOGIND_PATH = "/org/freedesktop/login1"
LOGIND_INTERFACE = "org.freedesktop.login1.Manager"
SLEEP_SIGNAL = "PrepareForSleep"
INHIBIT_WHY = "Lock the open workspace before the computer sleeps"
INHIBIT_TIMEOUT_MS = 5000


class SleepWatcher(QObject):
    """Emits `going_to_sleep` when logind announces a suspend or hibernation, and holds
    logind's sleep back (`hold`) while a workspace is open, until the lock is done."""

    going_to_sleep = Signal()

    def __init__(self, parent: QObject | None = None, bus: QDBusConnection | None = None):
        super().__init__(parent)
        self._bus = bus if bus is not None else QDBusConnection.systemBus()
        self._inhibitor: int | None = None  # our own copy of logind's descriptor
        self._asking: QDBusPendingCallWatcher | None = None
        self._wanted = False
        self.inhibit_error = ""  # why logind gave no inhibitor (diagnostics and tests)
        # The stubs say the slot is bytes; PySide6 6.11 accepts only the str SLOT() makes.
        self.listening = self._bus.isConnected() and self._bus.connect(  # type: ignore[call-overload]
            "",  # any sender: logind's well-known name is not the signal's sender name
            LOGIND_PATH,
            LOGIND_INTERFACE,
            SLEEP_SIGNAL,
            self,
            SLOT("_on_prepare_for_sleep(bool)"),
        )

    @property
    def holding(self) -> bool:
        """True while logind waits for Valise before sleeping."""
        return self._inhibitor is not None

    def hold(self) -> None:
        """Ask logind for a delay inhibitor (a workspace was opened); the answer comes
        later, on the event loop. Asking twice, or without a bus, does nothing."""
        self._wanted = True
        if not self.listening or self._inhibitor is not None or self._asking is not None:
            return
        message = QDBusMessage.createMethodCall(
            LOGIND_SERVICE, LOGIND_PATH, LOGIND_INTERFACE, "Inhibit"
        )
        message.setArguments(["sleep", "Valise", INHIBIT_WHY, "delay"])
        self._asking = QDBusPendingCallWatcher(
            self._bus.asyncCall(message, INHIBIT_TIMEOUT_MS), self
        )
        self._asking.finished.connect(self._on_inhibit_answer)

    def release(self) -> None:
        """Let logind sleep without waiting (the workspace is closed and no exec follows)."""
        self._wanted = False
        inhibitor, self._inhibitor = self._inhibitor, None
        if inhibitor is not None:
            with contextlib.suppress(OSError):
                os.close(inhibitor)

    @Slot(QDBusPendingCallWatcher)
    def _on_inhibit_answer(self, watcher: QDBusPendingCallWatcher) -> None:
        self._asking = None
        watcher.deleteLater()
        reply = watcher.reply()
        arguments = reply.arguments()
        if reply.type() != QDBusMessage.MessageType.ReplyMessage or not arguments:
            self.inhibit_error = reply.errorMessage() or "no answer"
            return
        descriptor = arguments[0]
        if not isinstance(descriptor, QDBusUnixFileDescriptor) or not descriptor.isValid():
            self.inhibit_error = "logind's answer held no file descriptor"
            return
        own = os.dup(descriptor.fileDescriptor())  # close-on-exec, as Python makes it
        if self._wanted and self._inhibitor is None:
            self._inhibitor = own
        else:  # released (or given one) while the question was on its way
            os.close(own)

    @Slot(bool)
    def _on_prepare_for_sleep(self, going: bool) -> None:
        if going:
            self.going_to_sleep.emit()
