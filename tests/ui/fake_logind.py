"""A stand-in for systemd-logind on a private message bus, for the suspend lock's tests.

`python tests/ui/fake_logind.py BUS_ADDRESS` owns `org.freedesktop.login1` there and answers
`Inhibit` as logind does: with the write end of a pipe. It prints one line per event, flushed:
`ready`, `inhibit WHAT WHO MODE` for each call, and `released` when every copy of the
descriptor it handed out is closed (the read end sees the end of the file), as logind
notices that an inhibitor was let go.
"""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import ClassInfo, QCoreApplication, QObject, QSocketNotifier, Slot
from PySide6.QtDBus import QDBusConnection, QDBusUnixFileDescriptor


@ClassInfo({"D-Bus Interface": "org.freedesktop.login1.Manager"})
class FakeManager(QObject):
    """Answers Inhibit with a pipe whose read end it watches."""

    def __init__(self) -> None:
        super().__init__()
        self._watchers: list[QSocketNotifier] = []

    @Slot(str, str, str, str, result=QDBusUnixFileDescriptor)
    def Inhibit(self, what: str, who: str, why: str, mode: str) -> QDBusUnixFileDescriptor:
        print(f"inhibit {what} {who} {mode}", flush=True)
        read_end, write_end = os.pipe()
        handed = QDBusUnixFileDescriptor(write_end)  # a copy of its own
        os.close(write_end)
        notifier = QSocketNotifier(read_end, QSocketNotifier.Type.Read, self)
        notifier.activated.connect(lambda *_: self._on_readable(notifier, read_end))
        self._watchers.append(notifier)
        return handed

    def _on_readable(self, notifier: QSocketNotifier, read_end: int) -> None:
        if os.read(read_end, 1) == b"":  # every write end closed
            notifier.setEnabled(False)
            print("released", flush=True)


def main() -> None:
    app = QCoreApplication([])
    bus = QDBusConnection.connectToBus(sys.argv[1], "fake-logind")
    manager = FakeManager()
    bus.registerObject(
        "/org/freedesktop/login1", manager, QDBusConnection.RegisterOption.ExportAllSlots
    )
    bus.registerService("org.freedesktop.login1")
    print("ready", flush=True)
    app.exec()


if __name__ == "__main__":
    main()
