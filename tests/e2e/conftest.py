"""Fixtures for the end-to-end tests: one X display per module, one `valise` process per
start, and numbered screenshots of each step under `tests/e2e/artifacts/` (git-ignored).

The tests skip, saying which Debian packages are missing, only when Xvfb, openbox or
xdotool is not installed; without ImageMagick's `import` they run without screenshots.
`./dev test` installs all four.
"""

from __future__ import annotations

import re
import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.x11 import (
    SCREENSHOT_TOOL,
    ValiseApp,
    XSession,
    can_take_screenshots,
    missing_tools,
)

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip every end-to-end test, with the reason, when a needed program is missing."""
    missing = missing_tools()
    if not missing:
        return
    reason = (
        f"needs a virtual X display and real input: apt-get install {' '.join(missing)}"
        " (./dev test installs them)"
    )
    folder = Path(__file__).resolve().parent
    for item in items:
        if folder in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="module")
def x_session() -> Iterator[XSession]:
    """Xvfb and openbox on a free display, ended and reaped after the module."""
    session = XSession(ARTIFACTS / "_display")
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """This test's own folder of screenshots and logs, emptied first."""
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def shot(x_session: XSession, artifacts: Path) -> Callable[[str], Path]:
    """`shot("unlocked")` saves the screen as NN-unlocked.png in the test's folder (or
    only counts the step when ImageMagick is missing, with one warning)."""
    taken: list[Path] = []
    if not can_take_screenshots():
        warnings.warn(
            f"no screenshots in tests/e2e/artifacts: apt-get install {SCREENSHOT_TOOL[1]}",
            stacklevel=1,
        )

    def take(step: str) -> Path:
        path = artifacts / f"{len(taken) + 1:02d}-{step}.png"
        if can_take_screenshots():
            x_session.screenshot(path)
        taken.append(path)
        return path

    return take


@pytest.fixture
def start_valise(x_session: XSession, artifacts: Path) -> Iterator[Callable[..., ValiseApp]]:
    """`start_valise(folder[, extra_env])` runs `valise` on the workspace in `folder` (with
    `extra_env` added to its environment); every process
    started is ended and reaped after the test, whatever happened."""
    started: list[ValiseApp] = []

    def start(workspace: Path, extra_env: dict[str, str] | None = None) -> ValiseApp:
        log = artifacts / f"valise-{len(started) + 1}.log"
        app = ValiseApp(x_session, workspace, log, extra_env)
        started.append(app)
        return app

    try:
        yield start
    finally:
        for app in started:
            app.close()
