"""A lock ends the process image: Valise executes itself again, locked, on the same folder.

Python keeps copies of key strings, passphrases and case text in memory after they are
dropped (shared/PLATFORM.md #18), and zeroing buffers cannot reach them. After the window
locks, the workspace is closed as before (audit head anchored, folder lock released) and
then `os.execv` replaces the whole address space with a fresh start of the same program,
keeping the process id. The new image shows the unlock dialog for that folder, with the
reason for the lock; nothing of the unlocked session is left in memory.

What crosses the exec is only what this module puts in the environment: the folder, the
reason line, the name of the user who was unlocked (so the dialog offers it again; a name
is not a secret), the window's geometry and the case list's status and category filters
and sort order (no case data, no secret).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ui.list_view import ListView

log = logging.getLogger(__name__)

LOCKED_FOLDER_ENV = "VALISE_LOCKED_WORKSPACE"
LOCK_REASON_ENV = "VALISE_LOCK_REASON"
LOCKED_VIEW_ENV = "VALISE_LOCKED_VIEW"
LOCKED_USER_ENV = "VALISE_LOCKED_USER"
EXEC_STAMP_ENV = "VALISE_EXEC_STAMP"  # tests and benchmarks only: see _stamp_the_exec
_MAX_REASON = 200
_MAX_USER = 80  # storage.users.MAX_NAME
_MAX_VIEW = 8192


@dataclass(frozen=True)
class LockedStart:
    """Where and why the process starts locked: the unlock dialog's folder and message,
    the window and case list as they were (`ui.main_window.ListView`), and who was
    unlocked ('' before named users), offered again in the User field."""

    folder: Path
    reason: str = ""
    view: ListView = field(default_factory=ListView)
    user: str = ""


class RelockRequest:
    """What the window asked for when it locked; `run_gui` carries it out after Qt quits.

    The window is given `ask` (it cannot execute the program itself: Qt and the workspace
    must be shut down first, and under tests nothing may exec)."""

    def __init__(self, end_event_loop: Callable[[], None]) -> None:
        self._end_event_loop = end_event_loop
        self.start: LockedStart | None = None

    def ask(self, folder: Path, reason: str, view: ListView, user: str = "") -> None:
        """The workspace is closed: end the event loop so the process can start again."""
        self.start = LockedStart(Path(folder), reason, view, user)
        self._end_event_loop()


def restart_argv() -> list[str]:
    """The command line that starts this same program again.

    A PyInstaller build (`sys.frozen`) is its own executable, given its own arguments. Run
    by Python (`python -m desktop.main`, or pip's `valise` script, which is
    `python /path/to/bin/valise`), `sys.orig_argv` is the interpreter's own command line
    with its options (`-m desktop.main`, `-X ...`), so it is kept whole after
    `sys.executable`.
    """
    if getattr(sys, "frozen", False):
        return [sys.executable, *sys.argv[1:]]
    return [sys.executable, *sys.orig_argv[1:]]


def environment_for(start: LockedStart) -> dict[str, str]:
    """The variables the new image reads with `take_locked_start`."""
    view = start.view
    return {
        LOCKED_FOLDER_ENV: str(start.folder),
        LOCK_REASON_ENV: start.reason[:_MAX_REASON],
        LOCKED_USER_ENV: start.user[:_MAX_USER],
        LOCKED_VIEW_ENV: json.dumps(
            {
                "geometry": base64.b64encode(view.geometry).decode("ascii"),
                "status": view.status,
                "category": view.category,
                "sort_column": view.sort_column,
                "sort_descending": view.sort_descending,
            }
        ),
    }


def take_locked_start() -> LockedStart | None:
    """The locked start the previous image asked for, removed from the environment so
    that nothing started later inherits it; None on an ordinary start. Anything garbled
    (the environment is the user's to change) falls back to the default view."""
    folder = os.environ.pop(LOCKED_FOLDER_ENV, "")
    reason = os.environ.pop(LOCK_REASON_ENV, "")
    view_text = os.environ.pop(LOCKED_VIEW_ENV, "")
    user = os.environ.pop(LOCKED_USER_ENV, "")
    if not folder:
        return None
    printable = "".join(ch for ch in reason[:_MAX_REASON] if ch.isprintable())
    name = "".join(ch for ch in user[:_MAX_USER] if ch.isprintable())
    return LockedStart(Path(folder), printable, _parse_view(view_text[:_MAX_VIEW]), name)


def _parse_view(text: str) -> ListView:
    try:
        fields = json.loads(text)
        if not isinstance(fields, dict):
            return ListView()
        geometry = base64.b64decode(str(fields.get("geometry", "")), validate=True)
        status, category = fields.get("status", ""), fields.get("category", "")
        column, descending = fields.get("sort_column", -1), fields.get("sort_descending", True)
    except ValueError:
        return ListView()
    if not (isinstance(status, str) and isinstance(category, str)):
        status, category = "", ""
    if isinstance(column, bool) or not isinstance(column, int):
        column = -1
    return ListView(geometry, status[:100], category[:100], column, descending is not False)


def execute_locked(start: LockedStart) -> None:
    """Shut Qt down and replace this process with a locked start of the same program.

    Qt is taken down first so that nothing is left behind the exec: the thread pools'
    threads are joined, deferred deletions run and the application object (with its X11
    or Wayland connection) is destroyed. Files Python opened are close-on-exec; the
    workspace was closed (folder lock released) before the window asked for this. Returns
    only if the exec fails, having said so on stderr: the process then ends, locked.
    """
    _shut_qt_down()
    _stop_preview_spare()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()  # buffered output would be lost with the old image
    os.environ.update(environment_for(start))
    argv = restart_argv()
    _stamp_the_exec()
    try:
        os.execv(argv[0], argv)  # noqa: S606  # this same program, by its full path
    except OSError as exc:
        log.error("could not start Valise again after locking: %s", exc.strerror)
        print(
            "Valise locked, but could not start again to ask for the passphrase "
            f"({exc.strerror}). Start Valise again.",
            file=sys.stderr,
        )


def _stamp_the_exec() -> None:
    """For the lock's benchmark and end-to-end test only: write the moment of the exec
    (CLOCK_MONOTONIC, comparable across processes) to the file VALISE_EXEC_STAMP names,
    since the old memory is gone from then on. Nothing else; a failure is ignored."""
    path = os.environ.get(EXEC_STAMP_ENV, "")
    if path:
        with contextlib.suppress(OSError):
            Path(path).write_text(f"{time.monotonic():.6f}\n")


def _stop_preview_spare() -> None:
    """End the preview renderer started ahead (it has seen no evidence; its pipes would
    close with the exec, but the new image could not reap it)."""
    from ui.preview_process import stop_spare

    stop_spare()


def _shut_qt_down() -> None:
    from PySide6.QtCore import QCoreApplication, QEvent, QThreadPool

    from ui.tasks import shared_runner

    shared_runner().wait_for_done(30_000)
    QThreadPool.globalInstance().waitForDone(30_000)
    app = QCoreApplication.instance()
    if app is None:
        return
    for _ in range(3):  # deletions may post more deletions (a window's children)
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()
    QThreadPool.globalInstance().waitForDone(30_000)
    app.shutdown()
