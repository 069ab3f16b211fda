"""Bringing back a withdrawn case in the real `valise` process, with real keys: a colleague
withdrew it at the command line (`valise case withdraw`); the person finds it under
Status › Withdrawn and restores it with Ctrl+Shift+R. Pressing Ctrl+Shift+R on a case that
is not withdrawn first says so and changes nothing. The command line reads the result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from storage import cases
from tests.conftest import PASSPHRASE
from tests.e2e.steps import (
    KABORA,
    MAIN,
    Shot,
    assert_windows,
    new_office,
    quit_with_ctrl_q,
    unlock,
)
from tests.e2e.x11 import ROOT, ValiseApp, XSession

KEPT = "Shelling of the Kabora market"
WITHDRAWN = "Looting of the Dressa depot"
RESTORE = r"^Restore case"


def valise_cli(folder: Path, *args: str) -> str:
    """Run the `valise` command line on the workspace in `folder`; what it printed."""
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "VALISE_WORKSPACE": str(folder),
            "VALISE_PASSPHRASE": PASSPHRASE,
            "VALISE_KDF_PROFILE": "fast-insecure-test",
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "desktop.main", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def titles(folder: Path, *flags: str) -> list[str]:
    """The titles `valise case list --json` prints (with `flags`), sorted."""
    return sorted(
        case["title"] for case in json.loads(valise_cli(folder, "case", "list", "--json", *flags))
    )


def test_a_withdrawn_case_found_under_status_withdrawn_and_restored_with_ctrl_shift_r(
    x_session: XSession, start_valise: Callable[[Path], ValiseApp], shot: Shot, tmp_path: Path
) -> None:
    x = x_session
    ws = new_office(tmp_path / "kabora", KABORA, "KAB")
    cases.add_case(ws, KEPT)
    gone = cases.add_case(ws, WITHDRAWN)
    folder = ws.paths.root
    ws.close()
    valise_cli(folder, "case", "withdraw", gone)
    assert titles(folder) == [KEPT]
    assert titles(folder, "--withdrawn") == [WITHDRAWN]

    app = start_valise(folder)
    unlock(x, app)
    shot("one-case-listed")

    # Ctrl+Shift+R on the case that is there: a sentence says it is not withdrawn; Enter.
    x.key("Down", "ctrl+shift+r")
    app.wait_for_window(RESTORE)
    assert_windows(app, MAIN, RESTORE)
    shot("not-withdrawn")
    x.key("Return")
    app.wait_until_gone(RESTORE)
    app.wait_for_window(MAIN)

    # Alt+U to the status filter, W for Withdrawn: the withdrawn case alone is listed.
    # Tab past the category, the office and the search box into the list, then
    # Ctrl+Shift+R brings the case back.
    x.key("alt+u")
    x.type_text("w")
    shot("withdrawn-listed")
    x.key("Tab", "Tab", "Tab", "Tab")
    shot("withdrawn-chosen")
    x.key("ctrl+shift+r")
    shot("restored")
    assert_windows(app, MAIN)
    quit_with_ctrl_q(x, app)

    assert titles(folder) == sorted([KEPT, WITHDRAWN])
    assert titles(folder, "--withdrawn") == []
