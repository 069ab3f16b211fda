"""What a person sees when Valise itself fails: a dialog whose details can be copied.

An exception that escapes a slot or an event handler reaches `sys.excepthook` (PySide6
prints it through `PyErr_Print`), where it would otherwise vanish into a terminal nobody
watches. `install` replaces the hook with one that shows the bug dialog of `Prompts`.

The details are a traceback (file names, lines and the exception's message, never local
variables) and the versions a support contact needs. Storage and sync never put keys or
passphrases into messages; as a second line of defence, long runs of hex or base64 (a key,
a salt, a digest) are replaced before anything is shown or copied.
"""

from __future__ import annotations

import logging
import platform
import re
import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType

import PySide6
from PySide6.QtCore import QCoreApplication, QThread, qVersion
from PySide6.QtWidgets import QApplication, QWidget

log = logging.getLogger(__name__)

_HEX_RUN = re.compile(r"\b[0-9a-fA-F]{32,}\b")
_TOKEN_RUN = re.compile(r"[A-Za-z0-9+/_-]{40,}={0,2}")
REDACTED = "[redacted]"


def _looks_like_key(run: str) -> bool:
    """A run of 40 or more base64 or bech32 characters with digits and letters in it,
    which is not an absolute path (as tracebacks name files)."""
    if run.startswith("/"):
        return False
    has_digit = any(c.isdigit() for c in run)
    return has_digit and any(c.isalpha() for c in run)


def _redact_token(match: re.Match[str]) -> str:
    return REDACTED if _looks_like_key(match.group()) else match.group()


ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], object]


def redact(text: str) -> str:
    """`text` with every key-like run of characters replaced by a marker."""
    return _TOKEN_RUN.sub(_redact_token, _HEX_RUN.sub(REDACTED, text))


def bug_details(error: BaseException) -> str:
    """The text a person may copy into a report: versions, then the traceback, redacted."""
    version = QCoreApplication.applicationVersion() or "(version unknown)"
    versions = (
        f"Valise {version}; Python {platform.python_version()};"
        f" PySide6 {PySide6.__version__} (Qt {qVersion()}); {platform.platform()}"
    )
    trace = "".join(traceback.format_exception(error))
    return redact(f"{versions}\n\n{trace}")


class CrashReporter:
    """The excepthook of the running application: log the error, then show the dialog.

    Only the GUI thread may show a dialog; an error on another thread is logged and the
    dialog follows on the GUI thread. While one bug dialog is open, further errors are only
    logged, so a failing paint event cannot open dialogs without end.
    """

    def __init__(self, report: Callable[[QWidget | None, str, BaseException], None]) -> None:
        self._report = report
        self._showing = False
        self.previous: ExceptHook = sys.excepthook

    def __call__(
        self,
        kind: type[BaseException],
        error: BaseException,
        trace: TracebackType | None,
    ) -> None:
        """Handle one uncaught exception."""
        if issubclass(kind, KeyboardInterrupt):
            self.previous(kind, error, trace)
            return
        if error.__traceback__ is None and trace is not None:
            error = error.with_traceback(trace)
        if self._showing or not _on_gui_thread():
            log.error("unexpected error", exc_info=error)
            return
        self._showing = True
        try:
            self._report(QApplication.activeWindow(), "Valise ran into a problem", error)
        finally:
            self._showing = False

    def on_thread(self, args: threading.ExceptHookArgs) -> None:
        """`threading.excepthook`: errors of plain threads are logged (their work reports
        its own failures to the window)."""
        log.error("unexpected error on thread %s", args.thread, exc_info=args.exc_value)


def _on_gui_thread() -> bool:
    app = QApplication.instance()
    return app is not None and QThread.currentThread() is app.thread()


def install(report: Callable[[QWidget | None, str, BaseException], None]) -> CrashReporter:
    """Make `report` (normally `Prompts.report_bug`) the application's excepthook."""
    reporter = CrashReporter(report)
    sys.excepthook = reporter
    threading.excepthook = reporter.on_thread
    return reporter


def uninstall(reporter: CrashReporter) -> None:
    """Put back the hook that was there before `install`."""
    if sys.excepthook is reporter:
        sys.excepthook = reporter.previous
    threading.excepthook = threading.__excepthook__
