"""Locking when the computer goes to sleep (issue 13): logind's PrepareForSleep(true) on the
bus locks the window and says why; waking (false) does nothing. A private D-Bus daemon
stands in for the system bus, and `dbus-send` sends the signal as logind would."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator

import pytest
import sqlcipher3.dbapi2 as sqlcipher
from PySide6.QtDBus import QDBusConnection
from pytestqt.qtbot import QtBot

from storage.workspace import Workspace
from ui.main_window import MainWindow
from ui.prompts import ScriptedPrompts
from ui.suspend_lock import LOGIND_INTERFACE, LOGIND_PATH, SLEEP_SIGNAL, SleepWatcher
from ui.tasks import TaskRunner

pytestmark = pytest.mark.skipif(
    not (shutil.which("dbus-daemon") and shutil.which("dbus-send")), reason="needs D-Bus tools"
)


@pytest.fixture
def bus_address() -> Iterator[str]:
    """A private message bus for this test, stopped after it."""
    started = subprocess.run(
        ["dbus-daemon", "--session", "--print-address=1", "--print-pid=1", "--fork"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    address, pid = started.stdout.split("\n")[:2]
    yield address
    os.kill(int(pid), signal.SIGTERM)


def announce_sleep(address: str, going: bool) -> None:
    """What logind sends before a suspend (true) and after waking (false)."""
    subprocess.run(
        [
            "dbus-send",
            f"--bus={address}",
            "--type=signal",
            LOGIND_PATH,
            f"{LOGIND_INTERFACE}.{SLEEP_SIGNAL}",
            f"boolean:{'true' if going else 'false'}",
        ],
        check=True,
        timeout=30,
    )


@pytest.fixture
def window(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner, bus_address: str
) -> Iterator[MainWindow]:
    bus = QDBusConnection.connectToBus(bus_address, f"valise-test-{id(ws)}")
    watcher = SleepWatcher(bus=bus)
    assert watcher.listening
    main = MainWindow(ws, prompts=ScriptedPrompts(), runner=runner, sleep_watcher=watcher)
    qtbot.addWidget(main)
    main.show()
    yield main
    QDBusConnection.disconnectFromBus(f"valise-test-{id(ws)}")


def test_the_computer_going_to_sleep_locks_the_window_and_says_why(
    qtbot: QtBot, window: MainWindow, ws: Workspace, bus_address: str
):
    with qtbot.waitSignal(window.locked, timeout=5000):
        announce_sleep(bus_address, going=True)
    assert window.workspace is None
    with pytest.raises(sqlcipher.ProgrammingError):
        ws.conn.execute("SELECT 1")  # the connection is closed: the key is gone with it
    assert window.statusBar().currentMessage() == "Locked as the computer went to sleep."
    assert window.unlock_dialog is not None and window.unlock_dialog.isVisible()


def test_waking_up_does_not_lock(qtbot: QtBot, window: MainWindow, ws: Workspace, bus_address: str):
    with qtbot.assertNotEmitted(window.locked, wait=500):
        announce_sleep(bus_address, going=False)
    assert window.workspace is ws


def test_without_a_bus_nothing_is_watched_and_the_window_works(qtbot: QtBot):
    watcher = SleepWatcher(bus=QDBusConnection.connectToBus("unix:path=/nonexistent", "nothing"))
    assert not watcher.listening
    QDBusConnection.disconnectFromBus("nothing")
