"""Canary for shared/PLATFORM.md #1: PySide6 6.12.0 aborts Python 3.10/3.11.

Each call of a method returning nothing drops a reference to `None`; after about 5,000
calls the interpreter dies with `Fatal Python error: none_dealloc`. Short test runs pass
and the application dies after minutes, so an upgrade that brings the bug back must fail
here, in a subprocess, instead of in the hands of users.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CALLS = 20_000

CODE = f"""
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication

app = QApplication([])
obj = QObject()
for n in range({CALLS}):
    obj.setObjectName("canary")
print("survived")
"""


@pytest.mark.slow
def test_many_calls_returning_none_do_not_crash_the_interpreter():
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, "-c", CODE], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "survived"
