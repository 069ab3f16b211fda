"""Starting the desktop application: fonts, first-run or unlock dialog, then the main window."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QDialog

from desktop import __version__
from storage.keyfile import KdfParams
from storage.paths import WorkspacePaths
from storage.workspace import Workspace
from ui import crash
from ui.dialogs.create_workspace import CreateWorkspaceDialog
from ui.dialogs.unlock import UnlockDialog
from ui.fonts import load_fonts
from ui.main_window import MainWindow
from ui.prompts import Prompts
from ui.tasks import shared_runner

log = logging.getLogger(__name__)


def _application() -> QApplication:
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setApplicationName("Valise")
    app.setApplicationDisplayName("Valise")
    app.setOrganizationName("Valise")
    app.setApplicationVersion(__version__)
    return app


def _kdf_for_new_workspace() -> KdfParams:
    from desktop.cli import kdf_for_new_workspace

    return kdf_for_new_workspace()


def ask_for_workspace(workspace_dir: Path) -> Workspace | None:
    """Create the workspace on first run, else unlock it; None when the person quits."""
    dialog: CreateWorkspaceDialog | UnlockDialog
    if WorkspacePaths(workspace_dir).looks_like_workspace():
        dialog = UnlockDialog(workspace_dir)
    else:
        dialog = CreateWorkspaceDialog(workspace_dir, kdf=_kdf_for_new_workspace())
    accepted = dialog.exec() == QDialog.DialogCode.Accepted
    workspace = dialog.workspace if accepted else None
    dialog.deleteLater()
    return workspace


def run_gui(workspace_dir: Path) -> int:
    """Run the desktop application on the workspace in `workspace_dir`; the exit code.

    Returns 0 when the person quits, also from the first dialog. The workspace is closed
    (audit head anchored, folder lock released) before this returns.
    """
    app = _application()
    load_fonts(app)
    app.setQuitOnLastWindowClosed(True)
    window: MainWindow | None = None
    reporter = crash.install(Prompts().report_bug)
    try:
        workspace = ask_for_workspace(Path(workspace_dir))
        if workspace is None:
            return 0
        window = MainWindow(workspace)
        app.aboutToQuit.connect(window.shutdown)
        window.show()
        return int(app.exec())
    finally:
        if window is not None:
            window.shutdown()
            window.deleteLater()
        # A check still running on a worker delivers its result (and is closed) here.
        shared_runner().wait_for_done(30_000)
        QCoreApplication.sendPostedEvents()
        QCoreApplication.processEvents()
        crash.uninstall(reporter)
