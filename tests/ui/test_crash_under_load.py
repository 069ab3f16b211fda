"""The UI must survive a busy machine: crashes that only show under load, tested as such.

A full `./dev test` run once died with "Fatal Python error: Segmentation fault" inside
pytest-qt's event processing while other processes kept both cores busy. The cause was a
double delete: a docked view deleted on lock dropped the last reference to the main
window (held by a lambda connected to the view's signal), Python deleted the window, and
the window deleted the view again mid-destructor (see `ui/slots.py`). Whether the view
was deleted before or after the test dropped its window depended on timing, hence load.

Crashes kill the interpreter, so each check runs in a child process and looks at its
exit status and output.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.ui.crash_scenarios import SURVIVED

ROOT = Path(__file__).resolve().parents[2]
FATAL = "Fatal Python error"
UI_FILES_AT_RISK = ("tests/ui/test_evidence_tab.py",)
# The test that crashed most (about three runs in five): a lock while a file is added.
LOCK_DURING_ADD = (
    "tests/ui/test_evidence_tab.py::test_locking_while_a_large_file_is_added_cancels_it_then_locks"
)
LOCK_REPEATS = 3
CHILD_TIMEOUT_S = 240  # a hung child is a failure too, but not one that blocks the suite


def child_env() -> dict[str, str]:
    """Our code first on the path, offscreen Qt, and Python's fault handler on, so a
    crash prints the stack of every thread."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["PYTHONFAULTHANDLER"] = "1"
    env["VALISE_KDF_PROFILE"] = "fast-insecure-test"
    return env


def one_core() -> set[int]:
    """The first CPU this process may use: sharing one core widens the races."""
    return {min(os.sched_getaffinity(0))}


@contextmanager
def cpu_burners(count: int, cores: set[int]) -> Iterator[None]:
    """`count` processes spinning on `cores` while the block runs."""
    # Bounded in time too, so a burner outlives no killed test run by long.
    spin = (
        f"import time\nend = time.monotonic() + {CHILD_TIMEOUT_S}\n"
        "while time.monotonic() < end: pass"
    )
    burners = [
        subprocess.Popen(
            [sys.executable, "-c", spin], preexec_fn=lambda: os.sched_setaffinity(0, cores)
        )
        for _ in range(count)
    ]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
        for burner in burners:
            burner.wait()


def run_pinned(args: list[str], cores: set[int]) -> subprocess.CompletedProcess[str]:
    """Run Python with `args` in a child pinned to `cores`; its output for the report."""
    return subprocess.run(
        [sys.executable, "-X", "faulthandler", *args],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_S,
        preexec_fn=lambda: os.sched_setaffinity(0, cores),
        check=False,
    )


def test_deleting_docked_views_after_the_window_lost_its_last_reference_does_not_crash() -> None:
    """Crashed every time before `weakly`: the views' `busy` and `destroyed` connections
    held the window, so deleting a view on lock deleted the window and the view twice."""
    done = run_pinned(
        ["-m", "tests.ui.crash_scenarios", "window_dropped_then_views_deleted"], one_core()
    )
    output = done.stdout + done.stderr
    assert FATAL not in output, output[-4000:]
    assert done.returncode == 0 and SURVIVED in done.stdout, output[-4000:]


def test_deleting_a_finished_search_task_does_not_delete_its_search_box_twice() -> None:
    """A task's slots may hold the last reference to the view that owns the task's runner;
    as the task is deleted the view goes too, and with it the runner. Tasks belong to the
    application, not to their runner, so the runner's end cannot delete the task again;
    and the worker emits the outcome on a courier with no Python slots, so the box's
    lambdas are never dropped (and the box deleted) on its own search thread, which then
    waited for itself and aborted about one run in two."""
    done = run_pinned(
        ["-m", "tests.ui.crash_scenarios", "search_dropped_after_its_search_ended"], one_core()
    )
    output = done.stdout + done.stderr
    assert FATAL not in output, output[-4000:]
    assert done.returncode == 0 and SURVIVED in done.stdout, output[-4000:]


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
def test_ui_tests_at_risk_pass_on_one_busy_core() -> None:
    """The evidence tab tests (workers, previews, a lock during an add), then the lock
    during an add again, in one child pinned to one core that two spinning processes
    also want. Before the fix about one run of the file in three died this way."""
    cores = one_core()
    args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "--keep-duplicates"]
    args += [*UI_FILES_AT_RISK, *[LOCK_DURING_ADD] * LOCK_REPEATS]
    started = time.monotonic()
    with cpu_burners(2, cores):
        done = run_pinned(args, cores)
    output = done.stdout + done.stderr
    assert FATAL not in output, output[-6000:]
    assert done.returncode == 0, output[-6000:]
    assert time.monotonic() - started < CHILD_TIMEOUT_S
