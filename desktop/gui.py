"""Starting the desktop application: fonts, first-run or unlock dialog, then the main window."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtWidgets import QApplication, QDialog

from desktop import __version__
from desktop.relock import LockedStart, RelockRequest, execute_locked
from storage.keyfile import KdfParams
from storage.paths import WORKSPACE_ENV, WorkspacePaths, default_workspace_dir
from storage.workspace import Workspace
from ui import crash
from ui.dialogs._common import SWITCH_WORKSPACE, choose_workspace_folder
from ui.dialogs.create_workspace import CreateWorkspaceDialog
from ui.dialogs.unlock import UnlockDialog
from ui.fonts import load_fonts
from ui.main_window import MainWindow
from ui.paint_threads import paint_on_one_thread
from ui.prompts import Prompts
from ui.settings import Settings
from ui.tasks import shared_runner

log = logging.getLogger(__name__)


def _application() -> QApplication:
    """The running application, made if there is none yet, painting on its own thread."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        paint_on_one_thread()  # before Qt first paints: it reads the setting once
        app = QApplication(sys.argv[:1])
    app.setApplicationName("Valise")
    app.setApplicationDisplayName("Valise")
    app.setOrganizationName("Valise")
    app.setApplicationVersion(__version__)
    return app


def _kdf_for_new_workspace() -> KdfParams:
    from desktop.cli import kdf_for_new_workspace

    return kdf_for_new_workspace()


def ask_for_workspace(
    workspace_dir: Path,
    settings: Settings | None = None,
    *,
    locked_reason: str = "",
    after_lock: bool = False,
    user: str = "",
) -> Workspace | None:
    """Create the workspace on first run, else unlock it; None when the person quits.

    From either dialog the person may choose another folder that holds a workspace; its
    unlock dialog follows. The folder of the workspace opened is remembered for the next
    start. `after_lock` is a start after the window locked: its unlock dialog reopens the
    workspace it showed, as the window's own did (no other folder is offered), and shows
    `locked_reason`. `user` is offered in the User field (the user who was unlocked before
    the lock); else the field starts with `VALISE_USER`.
    """
    settings = settings or Settings()
    folder = Path(workspace_dir)
    while True:
        dialog: CreateWorkspaceDialog | UnlockDialog
        if WorkspacePaths(folder).looks_like_workspace():
            dialog = UnlockDialog(
                folder,
                choose_folder=None if after_lock else choose_workspace_folder,
                locked_reason=locked_reason,
                user=user or None,
            )
        else:
            dialog = CreateWorkspaceDialog(folder, kdf=_kdf_for_new_workspace())
        result = dialog.exec()
        workspace = dialog.workspace if result == QDialog.DialogCode.Accepted else None
        other = dialog.other_folder if result == SWITCH_WORKSPACE else None
        dialog.deleteLater()
        if other is not None:
            folder = other
            continue
        if workspace is not None:
            settings.set_last_workspace(folder)
        return workspace


def start_folder(settings: Settings | None = None) -> Path:
    """Where to look first: `VALISE_WORKSPACE` when set, else the workspace opened last
    (if it is still there), else the platform's data folder."""
    if os.environ.get(WORKSPACE_ENV):
        return default_workspace_dir()
    remembered = (settings or Settings()).last_workspace
    if remembered is not None and WorkspacePaths(remembered).looks_like_workspace():
        return remembered
    return default_workspace_dir()


def run_gui(
    workspace_dir: Path | None = None,
    *,
    locked: LockedStart | None = None,
    relaunch: Callable[[LockedStart], None] = execute_locked,
) -> int:
    """Run the desktop application on the workspace in `workspace_dir` (None: the one
    `start_folder` finds); the exit code.

    Returns 0 when the person quits, also from the first dialog. The workspace is closed
    (audit head anchored, folder lock released) before this returns. `locked` is a start
    after a lock (the folder, the reason shown in the unlock dialog, the window's place
    and the case list's filters and order). When the window locks, the event loop ends,
    everything is closed as on quitting, and `relaunch` replaces the process with a
    locked start (`execute_locked`; tests pass a recorder, which returns, and then so
    does this).
    """
    app = _application()
    load_fonts(app)
    app.setQuitOnLastWindowClosed(True)
    window: MainWindow | None = None
    # Closed as on quitting, inside the event loop: the last window closed ends it. (A
    # quit asked for directly left Qt's own quit for the last window pending, and it ended
    # the next event loop: the first dialog of a following start, in the tests.)
    relock = RelockRequest(lambda: QTimer.singleShot(0, app, app.closeAllWindows))
    reporter = crash.install(Prompts().report_bug)
    try:
        if locked is not None:
            folder = locked.folder
        else:
            folder = start_folder() if workspace_dir is None else Path(workspace_dir)
        reason, user = (locked.reason, locked.user) if locked is not None else ("", "")
        workspace = ask_for_workspace(
            folder, locked_reason=reason, after_lock=locked is not None, user=user
        )
        if workspace is None:
            return 0
        window = MainWindow(workspace, relock=relock.ask)
        if locked is not None:
            window.show_list_view(locked.view)
        app.aboutToQuit.connect(window.shutdown)
        window.show()
        code = int(app.exec())
    finally:
        if window is not None:
            window.shutdown()
            window.deleteLater()
        # A check still running on a worker delivers its result (and is closed) here.
        shared_runner().wait_for_done(30_000)
        QCoreApplication.sendPostedEvents()
        QCoreApplication.processEvents()
        crash.uninstall(reporter)
    if relock.start is not None:
        window = None
        relaunch(relock.start)  # does not return, unless the exec failed or under tests
    return code
