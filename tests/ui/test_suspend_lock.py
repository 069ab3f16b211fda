"""Locking when the computer goes to sleep (issue 13): logind's PrepareForSleep(true) on the
bus locks the window and says why; waking (false) does nothing; while a workspace is open
Valise holds a "delay" inhibitor, let go when the lock is done. A private D-Bus daemon
stands in for the system bus, `dbus-send` sends the signal as logind would, and
tests/ui/fake_logind.py answers Inhibit as logind does."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

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
def logind(bus_address: str, tmp_path: Path) -> Iterator[Path]:
    """The fake logind on the private bus; yields the file its events are written to."""
    events = tmp_path / "logind-events.txt"
    with events.open("w") as out:
        fake = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("fake_logind.py")), bus_address],
            stdout=out,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        )
    deadline = time.monotonic() + 20
    while "ready" not in events.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "ready" in events.read_text(), "the fake logind did not start"
    yield events
    fake.kill()
    fake.wait()


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


def test_while_a_workspace_is_open_logind_waits_for_the_lock_before_sleeping(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner, bus_address: str, logind: Path
):
    """The window asks for a delay inhibitor when it opens the workspace, and lets it go
    once the lock has closed the workspace: logind sleeps after the lock, not before."""
    bus = QDBusConnection.connectToBus(bus_address, "valise-inhibit-test")
    watcher = SleepWatcher(bus=bus)
    main = MainWindow(ws, prompts=ScriptedPrompts(), runner=runner, sleep_watcher=watcher)
    qtbot.addWidget(main)
    main.show()
    qtbot.waitUntil(lambda: watcher.holding, timeout=10_000)
    assert "inhibit sleep Valise delay" in logind.read_text()
    assert "released" not in logind.read_text()
    with qtbot.waitSignal(main.locked, timeout=5000):
        announce_sleep(bus_address, going=True)
    assert main.workspace is None and not watcher.holding
    qtbot.waitUntil(lambda: "released" in logind.read_text(), timeout=10_000)
    QDBusConnection.disconnectFromBus("valise-inhibit-test")


def test_without_logind_on_the_bus_the_signal_still_locks(
    qtbot: QtBot, window: MainWindow, bus_address: str
):
    qtbot.waitUntil(lambda: bool(window.sleep_watcher.inhibit_error), timeout=10_000)
    assert not window.sleep_watcher.holding
    with qtbot.waitSignal(window.locked, timeout=5000):
        announce_sleep(bus_address, going=True)


def test_waking_up_does_not_lock(qtbot: QtBot, window: MainWindow, ws: Workspace, bus_address: str):
    with qtbot.assertNotEmitted(window.locked, wait=500):
        announce_sleep(bus_address, going=False)
    assert window.workspace is ws


def test_without_a_bus_nothing_is_watched_and_the_window_works(qtbot: QtBot):
    watcher = SleepWatcher(bus=QDBusConnection.connectToBus("unix:path=/nonexistent", "nothing"))
    assert not watcher.listening
    QDBusConnection.disconnectFromBus("nothing")
