"""Idle auto-lock: input keeps the workspace open, the idle limit locks it, settings persist.

The watcher's timer ticks every 10 ms here and reads a `FakeClock`, so "ten minutes without
use" is a clock move and a short wait for the next tick, never a sleep.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlcipher3.dbapi2 as sqlcipher
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt
from PySide6.QtGui import QKeySequence, QWheelEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from storage.workspace import Workspace
from tests.ui.conftest import FakeClock
from ui.dialogs.settings import SettingsDialog
from ui.idle import IdleWatcher
from ui.main_window import ListView, MainWindow
from ui.prompts import ScriptedPrompts
from ui.settings import DEFAULT_IDLE_LOCK_MINUTES, IDLE_LOCK_KEY, Settings
from ui.tasks import TaskRunner

MINUTE = 60.0


@pytest.fixture
def settings_path(tmp_path: Path) -> Path:
    """A private INI file: tests never touch the developer's real settings."""
    return tmp_path / "settings" / "valise.ini"


def open_settings(path: Path) -> Settings:
    return Settings(QSettings(str(path), QSettings.Format.IniFormat))


@pytest.fixture
def settings(settings_path: Path) -> Settings:
    return open_settings(settings_path)


@pytest.fixture
def watcher(clock: FakeClock) -> IdleWatcher:
    return IdleWatcher(clock=clock, check_interval_ms=10)


@pytest.fixture
def make_window(
    qtbot: QtBot, ws: Workspace, runner: TaskRunner, settings: Settings, watcher: IdleWatcher
) -> Callable[[], MainWindow]:
    """Builds the window on the shared workspace with the fake clock and private settings."""

    def make() -> MainWindow:
        main = MainWindow(
            ws, prompts=ScriptedPrompts(), runner=runner, settings=settings, idle_watcher=watcher
        )
        qtbot.addWidget(main)
        main.show()
        return main

    return make


@pytest.fixture
def window(make_window: Callable[[], MainWindow]) -> MainWindow:
    return make_window()


def wait_for_idle_lock(qtbot: QtBot, window: MainWindow) -> None:
    with qtbot.waitSignal(window.locked, timeout=2000):
        pass


def assert_locked(window: MainWindow, ws: Workspace) -> None:
    assert window.workspace is None
    assert window.model is None and window.table.model() is None
    with pytest.raises(sqlcipher.ProgrammingError):
        ws.conn.execute("SELECT 1")
    assert window.unlock_dialog is not None and window.unlock_dialog.isVisible()
    assert not window.idle_watcher.running


def send_key(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.keyClick(window.table, Qt.Key.Key_Down)


def send_click(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.mouseClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(5, 5))


def send_move(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.mouseMove(window.table.viewport(), QPoint(20, 20))


def send_wheel(qtbot: QtBot, window: MainWindow) -> None:
    viewport = window.table.viewport()
    event = QWheelEvent(
        QPointF(10, 10),
        QPointF(viewport.mapToGlobal(QPoint(10, 10))),
        QPoint(0, 0),
        QPoint(0, -120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(viewport, event)


@pytest.mark.parametrize("use", [send_key, send_click, send_move, send_wheel])
def test_keyboard_and_mouse_input_restarts_the_countdown(
    qtbot: QtBot,
    window: MainWindow,
    clock: FakeClock,
    use: Callable[[QtBot, MainWindow], None],
) -> None:
    clock.advance(9 * MINUTE)
    use(qtbot, window)
    assert window.idle_watcher.idle_seconds() == 0
    clock.advance(9 * MINUTE)  # 18 minutes since unlock, 9 since the last input
    window.idle_watcher.check()
    assert window.workspace is not None
    assert window.idle_watcher.running

    clock.advance(1 * MINUTE)
    wait_for_idle_lock(qtbot, window)


def test_idle_past_the_limit_locks_closes_the_workspace_and_asks_the_passphrase(
    qtbot: QtBot, window: MainWindow, ws: Workspace, clock: FakeClock
) -> None:
    assert window.idle_watcher.running
    assert window.idle_watcher.limit_seconds == DEFAULT_IDLE_LOCK_MINUTES * MINUTE
    clock.advance(10 * MINUTE - 1)
    window.idle_watcher.check()
    assert window.workspace is ws

    clock.advance(1)
    wait_for_idle_lock(qtbot, window)
    assert_locked(window, ws)
    assert window.count_label.text() == "Locked"
    assert window.statusBar().currentMessage() == "Locked after 10 minutes without use."


def test_locking_cancels_dialogs_left_open_over_the_window(
    qtbot: QtBot, window: MainWindow, ws: Workspace, clock: FakeClock, settings: Settings
) -> None:
    window.settings_action.trigger()
    dialog = window.settings_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.idle_spin.setValue(30)

    clock.advance(11 * MINUTE)
    with qtbot.waitSignal(dialog.rejected, timeout=2000):
        pass
    assert_locked(window, ws)
    assert window.settings_dialog is None
    assert settings.idle_lock_minutes == DEFAULT_IDLE_LOCK_MINUTES  # nothing was stored


def test_a_limit_of_zero_never_locks(
    qtbot: QtBot, settings: Settings, make_window: Callable[[], MainWindow], clock: FakeClock
) -> None:
    settings.set_idle_lock_minutes(0)
    window = make_window()
    assert window.idle_watcher.limit_seconds == 0
    with qtbot.assertNotEmitted(window.locked):
        clock.advance(30 * 24 * 60 * MINUTE)
        window.idle_watcher.check()
    assert window.workspace is not None
    assert window.idle_watcher.running


def test_no_idle_lock_fires_while_locked_and_unlocking_restarts_the_countdown(
    qtbot: QtBot, window: MainWindow, ws: Workspace, clock: FakeClock
) -> None:
    with qtbot.waitSignal(window.locked, timeout=1000):
        window.lock_action.trigger()
    assert_locked(window, ws)
    dialog = window.unlock_dialog

    with qtbot.assertNotEmitted(window.locked), qtbot.assertNotEmitted(window.idle_watcher.idle):
        clock.advance(5 * 60 * MINUTE)
        window.idle_watcher.check()
    assert window.unlock_dialog is dialog  # the same dialog, not a second one

    assert dialog is not None
    with qtbot.waitSignal(window.unlocked, timeout=10_000):
        dialog.try_passphrase("correct horse battery staple")
    assert window.idle_watcher.running
    assert window.statusBar().currentMessage() == ""
    clock.advance(9 * MINUTE)  # counted from the unlock, not from the lock an hour ago
    window.idle_watcher.check()
    assert window.workspace is not None
    clock.advance(1 * MINUTE)
    wait_for_idle_lock(qtbot, window)
    assert window.workspace is None


def test_settings_action_is_in_the_tools_menu_with_the_preferences_shortcut(
    window: MainWindow,
) -> None:
    expected = QKeySequence.keyBindings(QKeySequence.StandardKey.Preferences) or [
        QKeySequence("Ctrl+,")
    ]
    assert window.settings_action.shortcuts() == expected
    menus = {action.text(): action.menu() for action in window.menuBar().actions()}
    assert window.settings_action in menus["&Tools"].actions()
    assert window.settings_action.isEnabled()


def test_the_settings_dialog_changes_the_limit_and_it_persists(
    qtbot: QtBot,
    window: MainWindow,
    settings_path: Path,
    clock: FakeClock,
) -> None:
    window.settings_action.trigger()
    dialog = window.settings_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.idle_spin.value() == DEFAULT_IDLE_LOCK_MINUTES
    assert dialog.idle_spin.text() == "10 minutes without use"
    dialog.idle_spin.selectAll()
    qtbot.keyClicks(dialog.idle_spin, "3")
    with qtbot.waitSignal(dialog.accepted, timeout=1000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)

    assert open_settings(settings_path).idle_lock_minutes == 3  # survives a restart
    assert window.idle_watcher.limit_seconds == 3 * MINUTE
    assert window.settings_dialog is None
    clock.advance(3 * MINUTE)
    wait_for_idle_lock(qtbot, window)
    assert window.statusBar().currentMessage() == "Locked after 3 minutes without use."


def test_cancel_in_the_settings_dialog_changes_nothing(
    qtbot: QtBot, window: MainWindow, settings_path: Path
) -> None:
    window.settings_action.trigger()
    dialog = window.settings_dialog
    assert dialog is not None
    dialog.idle_spin.setValue(0)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert open_settings(settings_path).idle_lock_minutes == DEFAULT_IDLE_LOCK_MINUTES
    assert window.idle_watcher.limit_seconds == DEFAULT_IDLE_LOCK_MINUTES * MINUTE


@pytest.mark.parametrize("raw", ["soon", "-5", "241", "9999999999999", "", "1.5", "true", "0x10"])
def test_garbage_in_the_settings_file_falls_back_to_ten_minutes(
    settings_path: Path, make_window: Callable[[], MainWindow], raw: str
) -> None:
    settings_path.parent.mkdir(parents=True)
    settings_path.write_text(f"[security]\nidle_lock_minutes={raw}\n", encoding="utf-8")
    assert open_settings(settings_path).idle_lock_minutes == 10
    window = make_window()
    assert window.idle_watcher.limit_seconds == 10 * MINUTE


@pytest.mark.parametrize(("raw", "minutes"), [("0", 0), ("1", 1), (" 45 ", 45), ("240", 240)])
def test_valid_values_in_the_settings_file_are_read(
    settings_path: Path, raw: str, minutes: int
) -> None:
    settings_path.parent.mkdir(parents=True)
    settings_path.write_text(f"[security]\nidle_lock_minutes={raw}\n", encoding="utf-8")
    assert open_settings(settings_path).idle_lock_minutes == minutes


def test_storing_an_invalid_limit_is_refused(settings: Settings) -> None:
    for minutes in (-1, 241, True):
        with pytest.raises(ValueError):
            settings.set_idle_lock_minutes(minutes)
    assert IDLE_LOCK_KEY not in settings.store.allKeys()


def test_the_spin_box_refuses_out_of_range_values(qtbot: QtBot, settings: Settings) -> None:
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    spin = dialog.idle_spin
    assert spin.accessibleName() == "Lock after minutes without use"
    assert (spin.minimum(), spin.maximum()) == (0, 240)

    spin.selectAll()
    qtbot.keyClicks(spin, "300")  # the last 0 would make 300: refused as it is typed
    assert spin.value() == 30
    spin.selectAll()
    qtbot.keyClicks(spin, "-5")  # no minus sign at all
    assert spin.value() == 5
    assert spin.text() == "5 minutes without use"
    spin.setValue(1)
    assert spin.text() == "1 minute without use"
    spin.setValue(1000)
    assert spin.value() == 240
    spin.setValue(0)
    assert spin.text() == "Never"

    dialog.accept()
    assert settings.idle_lock_minutes == 0


def test_a_stopped_watcher_ignores_input_and_never_fires(qtbot: QtBot, clock: FakeClock) -> None:
    watcher = IdleWatcher(clock=clock, limit_seconds=60, check_interval_ms=10)
    watcher.start()
    watcher.stop()
    clock.advance(3600)
    with qtbot.assertNotEmitted(watcher.idle):
        watcher.check()
    with pytest.raises(ValueError):
        watcher.set_limit(-1)
    watcher.start()  # starting again counts as activity
    assert watcher.idle_seconds() == 0
    clock.advance(60)
    with qtbot.waitSignal(watcher.idle, timeout=2000):
        pass
    assert not watcher.running  # fired once, then stopped
    watcher.deleteLater()


def test_an_idle_lock_in_the_application_restarts_locked_and_says_why(
    qtbot: QtBot,
    ws: Workspace,
    runner: TaskRunner,
    settings: Settings,
    watcher: IdleWatcher,
    clock: FakeClock,
) -> None:
    """The reason goes with the restart: the new image shows it in its unlock dialog."""
    restarts: list[tuple[Path, str, ListView, str]] = []
    main = MainWindow(
        ws,
        prompts=ScriptedPrompts(),
        runner=runner,
        settings=settings,
        idle_watcher=watcher,
        relock=lambda *args: restarts.append(args),
    )
    qtbot.addWidget(main)
    main.show()
    clock.advance(10 * MINUTE)
    wait_for_idle_lock(qtbot, main)
    assert [reason for _folder, reason, _view, _user in restarts] == [
        "Locked after 10 minutes without use."
    ]
    assert main.workspace is None and main.unlock_dialog is None
