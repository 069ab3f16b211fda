"""A bug shows a dialog whose details can be copied, and nothing secret-looking is in them."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from ui import crash
from ui.prompts import Prompts, ScriptedPrompts


def _raised(error: BaseException) -> BaseException:
    try:
        raise error
    except BaseException as caught:
        return caught


def test_details_name_the_versions_and_the_place_of_the_error() -> None:
    error = _raised(ValueError("the case list could not sort by 'status'"))
    details = crash.bug_details(error)
    assert "Python" in details and "PySide6" in details and "Qt" in details
    assert "ValueError: the case list could not sort by 'status'" in details
    assert "test_crash.py" in details  # the traceback, for the developer


@pytest.mark.parametrize(
    "secret",
    [
        os.urandom(32).hex(),  # a database key as hex
        "x'" + os.urandom(32).hex() + "'",  # as in a key pragma
        "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",
        "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2FsZG8=",  # base64
    ],
)
def test_key_like_runs_never_reach_the_details(secret: str) -> None:
    error = _raised(RuntimeError(f"could not use {secret} here"))
    details = crash.bug_details(error)
    core = secret.strip("x'").removeprefix("AGE-SECRET-KEY-")
    assert core not in details
    assert crash.REDACTED in details
    assert "could not use" in details  # the rest of the message is kept


@pytest.mark.parametrize(
    "text",
    [
        "/home/ana/Valise/workspace.db line 42: VAR-2027-0001 W-0043 deadbeef",
        'File "/home/ana/projects/field_office_2027/valise_packaged_build3/ui/case_view.py"',
        "the_longest_function_name_we_have_in_the_code_base_for_sure",
    ],
)
def test_words_paths_and_short_numbers_are_kept(text: str) -> None:
    assert crash.redact(text) == text


@pytest.fixture
def hooks() -> Iterator[None]:
    before, thread_before = sys.excepthook, threading.excepthook
    yield
    sys.excepthook, threading.excepthook = before, thread_before


def test_an_uncaught_error_on_the_gui_thread_opens_the_bug_dialog(qapp, hooks) -> None:
    prompts = ScriptedPrompts()
    reporter = crash.install(prompts.report_bug)
    assert sys.excepthook is reporter
    error = _raised(KeyError("row 12"))
    sys.excepthook(type(error), error, error.__traceback__)
    assert [(a.kind, a.title) for a in prompts.asked] == [("bug", "Valise ran into a problem")]
    assert "KeyError" in prompts.asked[0].text
    crash.uninstall(reporter)
    assert sys.excepthook is reporter.previous


def test_an_error_while_the_dialog_is_open_is_only_logged(
    qapp, hooks, caplog: pytest.LogCaptureFixture
) -> None:
    shown: list[BaseException] = []

    def report(_parent: object, _title: str, error: BaseException) -> None:
        shown.append(error)
        inner = _raised(RuntimeError("painting failed again"))
        sys.excepthook(type(inner), inner, inner.__traceback__)

    crash.install(report)
    first = _raised(RuntimeError("painting failed"))
    sys.excepthook(type(first), first, first.__traceback__)
    assert [str(e) for e in shown] == ["painting failed"]
    assert "painting failed again" in caplog.text


def test_an_error_on_another_thread_is_logged_not_shown(
    qapp, hooks, caplog: pytest.LogCaptureFixture
) -> None:
    prompts = ScriptedPrompts()
    crash.install(prompts.report_bug)

    def fail() -> None:
        raise RuntimeError("worker thread failed")

    thread = threading.Thread(target=fail)
    thread.start()
    thread.join()
    assert prompts.asked == []
    assert "worker thread failed" in caplog.text


def test_the_real_dialog_copies_its_details_and_stays_open(qtbot, qapp) -> None:
    error = _raised(RuntimeError("something broke"))
    seen: dict[str, object] = {}

    def press_copy_then_close() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        copy = next(b for b in box.findChildren(QPushButton) if b.text() == "&Copy details")
        copy.click()
        seen["still open"] = box.isVisible()
        seen["clipboard"] = QGuiApplication.clipboard().text()
        seen["details"] = box.detailedText()
        box.button(QMessageBox.StandardButton.Close).click()

    QTimer.singleShot(0, press_copy_then_close)
    Prompts().report_bug(None, "Valise ran into a problem", error)
    assert seen["still open"] is True
    assert seen["clipboard"] == seen["details"]
    assert "RuntimeError: something broke" in str(seen["details"])
