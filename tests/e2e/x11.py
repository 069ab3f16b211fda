"""A private X display with a window manager, and the real `valise` process on it, driven
by real key and mouse events.

`XSession` starts Xvfb on a free display number (Xvfb picks it: `-displayfd`) and openbox,
so windows are focused and activated as on a desktop. `xdotool` types and clicks through
the XTEST extension, as a keyboard and a mouse do: the events reach whatever window the
window manager made active, not a window the test names. `ValiseApp` is one `valise`
process on that display, its windows found by the process id Qt sets on them
(`_NET_WM_PID`).

Everything waits by polling with generous deadlines, never by fixed sleeps, so a loaded
machine makes the tests slower, not flaky. Every process started here is ended and reaped
by `close()`, which the fixtures call even when a test fails.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]

# The programs these tests need, with the Debian package of each (`./dev test` installs them),
# and the one that takes the screenshots (without it the tests run without screenshots).
TOOLS = {"Xvfb": "xvfb", "openbox": "openbox", "xdotool": "xdotool"}
SCREENSHOT_TOOL = ("import", "imagemagick")

SCREEN = "1280x800x24"
WAIT_SECONDS = 60.0  # for a window or an exit: generous, a loaded 2-core machine is slow
POLL_SECONDS = 0.05

T = TypeVar("T")


class X11Error(AssertionError):
    """Something on the display did not happen in time; the message says what."""


def missing_tools() -> list[str]:
    """The Debian packages to install before these tests can run (empty when none)."""
    return [package for tool, package in TOOLS.items() if shutil.which(tool) is None]


def can_take_screenshots() -> bool:
    """True when ImageMagick's `import` is installed."""
    return shutil.which(SCREENSHOT_TOOL[0]) is not None


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = WAIT_SECONDS) -> T:
    """Poll `probe` until it returns something other than None (or False); fail with
    `what` when `timeout` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None and found is not False:
            return found
        if time.monotonic() > deadline:
            raise X11Error(f"waited {timeout:.0f} s for {what}")
        time.sleep(POLL_SECONDS)


def end_process(proc: subprocess.Popen[bytes], grace: float = 10.0) -> int:
    """Terminate `proc` if it still runs, reap it, and kill what is left of its process
    group (it was started as a session leader); its exit code. Safe to call on a process
    that already ended."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # children it left behind, if any
    return proc.returncode


CARET_PIXELS = 64  # a text cursor blinking: about 1 x 20 pixels, give or take


def at_most_a_caret_apart(first_png: bytes, second_png: bytes) -> bool:
    """True when two screen captures differ in no more pixels than a blinking text cursor
    covers (Qt's caret blinks twice a second, so a still screen is never byte-identical)."""
    if first_png == second_png:
        return True
    first, second = (
        QImage.fromData(png).convertToFormat(QImage.Format.Format_RGB32)
        for png in (first_png, second_png)
    )
    if first.size() != second.size():
        return False
    width, stride = first.width(), first.bytesPerLine()
    a, b = bytes(first.constBits()), bytes(second.constBits())
    rows = [
        y
        for y in range(first.height())
        if a[y * stride : (y + 1) * stride] != b[y * stride : (y + 1) * stride]
    ]
    if len(rows) > CARET_PIXELS:
        return False
    changed = 0
    for y in rows:
        start = y * stride
        for x in range(width):
            offset = start + 4 * x
            if a[offset : offset + 4] != b[offset : offset + 4]:
                changed += 1
    return changed <= CARET_PIXELS


def process_state(pid: int) -> str:
    """The `ps` state of `pid` ("S", "R", "Z" for a zombie...), '' when there is none."""
    result = subprocess.run(
        ["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True, check=False
    )
    return result.stdout.strip()


@dataclass(frozen=True)
class Window:
    """A mapped top-level window: its X id and its title."""

    id: int
    title: str


class XSession:
    """Xvfb and openbox on a display of their own, for one test module."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._procs: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []
        self.display = ""
        try:
            self._start_xvfb()
            self._start_openbox()
        except BaseException:
            self.close()
            raise

    def _log(self, name: str) -> IO[bytes]:
        log = (self.folder / name).open("wb")
        self._logs.append(log)
        return log

    def _start_xvfb(self) -> None:
        read_end, write_end = os.pipe()
        try:
            proc = subprocess.Popen(
                ["Xvfb", "-displayfd", str(write_end), "-screen", "0", SCREEN, "-nolisten", "tcp"],
                pass_fds=(write_end,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._log("xvfb.log"),
                start_new_session=True,
            )
            self._procs.append(proc)
            os.close(write_end)
            write_end = -1
            number = b""
            deadline = time.monotonic() + WAIT_SECONDS
            while not number.endswith(b"\n"):
                left = deadline - time.monotonic()
                ready, _, _ = select.select([read_end], [], [], max(left, 0))
                chunk = os.read(read_end, 16) if ready else b""
                if not chunk:
                    raise X11Error(f"Xvfb did not report a display; see {self.folder}/xvfb.log")
                number += chunk
        finally:
            os.close(read_end)
            if write_end >= 0:
                os.close(write_end)
        self.display = f":{int(number)}"

    def _start_openbox(self) -> None:
        ready = self.folder / "openbox-ready"
        ready.unlink(missing_ok=True)
        proc = subprocess.Popen(
            ["openbox", "--startup", f"touch {ready}"],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=self._log("openbox.log"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._procs.append(proc)
        wait_for("openbox to manage the screen", ready.exists)

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """An environment on this display, with a private home for settings."""
        home = self.folder / "home"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "DISPLAY": self.display,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_RUNTIME_DIR": str(home / "runtime"),
        }
        (home / "runtime").mkdir(parents=True, exist_ok=True, mode=0o700)
        env.update(extra or {})
        return env

    def xdotool(self, *args: str, strict: bool = True) -> str:
        """Run xdotool on this display; its output. Unless `strict` is False, a failure
        that xdotool explains on stderr raises: a search walking the window tree while a
        window goes away reports an X error for that window, which a search can ignore."""
        result = subprocess.run(
            ["xdotool", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=WAIT_SECONDS,
            check=False,
        )
        if strict and result.returncode != 0 and result.stderr.strip():
            raise X11Error(f"xdotool {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def active_window(self) -> int | None:
        """The X id of the window the window manager made active, if any."""
        try:
            out = self.xdotool("getactivewindow").strip()
        except X11Error:
            return None
        return int(out) if out.isdigit() else None

    def type_text(self, text: str) -> None:
        """Type `text` into the active window, key by key."""
        self.xdotool("type", "--delay", "15", "--", text)

    def key(self, *keys: str) -> None:
        """Press and release each key (e.g. "Return", "Tab", "ctrl+l") in turn."""
        self.xdotool("key", "--delay", "40", *keys)

    def click(self, window: Window, x: int, y: int) -> None:
        """Move the mouse to (x, y) inside `window` and click the left button."""
        self.xdotool("mousemove", "--window", str(window.id), str(x), str(y), "click", "1")

    def geometry(self, window: Window) -> tuple[int, int]:
        """The width and height of `window`."""
        out = self.xdotool("getwindowgeometry", "--shell", str(window.id))
        values = dict(line.split("=", 1) for line in out.split() if "=" in line)
        return int(values["WIDTH"]), int(values["HEIGHT"])

    def capture(self) -> bytes:
        """The whole screen, as PNG bytes."""
        result = subprocess.run(
            ["import", "-window", "root", "png:-"],
            env=self.env(),
            capture_output=True,
            timeout=WAIT_SECONDS,
            check=True,
        )
        return result.stdout

    def screenshot(self, path: Path, settle_seconds: float = 5.0) -> Path:
        """The screen as a PNG at `path`, once it stopped changing (the windows repainted
        after the last step; a blinking text cursor does not count), or after
        `settle_seconds`."""
        deadline = time.monotonic() + settle_seconds
        image = self.capture()
        while time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            again = self.capture()
            settled = at_most_a_caret_apart(image, again)
            image = again
            if settled:
                break
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(image)
        return path

    def close(self) -> None:
        """End openbox and Xvfb (newest first) and reap them."""
        for proc in reversed(self._procs):
            end_process(proc)
        self._procs.clear()
        for log in self._logs:
            log.close()
        self._logs.clear()


class ValiseApp:
    """One real `valise` process (no arguments: the desktop application) on `session`."""

    def __init__(
        self, session: XSession, workspace: Path, log: Path, extra_env: dict[str, str] | None = None
    ) -> None:
        self.session = session
        self.workspace = workspace
        self.log_path = log
        self._log = log.open("wb")
        env = session.env(
            {
                "PYTHONPATH": str(ROOT),
                "VALISE_WORKSPACE": str(workspace),
                "VALISE_KDF_PROFILE": "fast-insecure-test",
                "QT_QPA_PLATFORM": "xcb",
                **(extra_env or {}),
            }
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "desktop.main"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        """What the process wrote on stdout and stderr so far."""
        self._log.flush()
        return self.log_path.read_text("utf-8", errors="replace")

    def assert_alive(self) -> None:
        """The process runs: `ps` shows it, and not as a zombie (an exited child stays in
        the process table until reaped, so `kill -0` would say it lives)."""
        state = process_state(self.pid)
        if not state or state.startswith("Z") or self.proc.poll() is not None:
            raise X11Error(
                f"valise is not running (ps state {state!r}, exit {self.proc.poll()}); "
                f"it wrote:\n{self.output()}"
            )

    def windows(self) -> list[Window]:
        """This process's mapped top-level windows."""
        x = self.session
        out = x.xdotool("search", "--onlyvisible", "--pid", str(self.pid), strict=False)
        found = []
        for line in out.split():
            if not line.isdigit():
                continue
            try:
                title = x.xdotool("getwindowname", line).rstrip("\n")
            except X11Error:
                continue  # the window went away between the two calls
            found.append(Window(int(line), title))
        return found

    def titles(self) -> list[str]:
        """The titles of this process's mapped windows, sorted."""
        return sorted(window.title for window in self.windows())

    def window(self, title: str) -> Window | None:
        """The mapped window whose title matches the regular expression `title`."""
        for window in self.windows():
            if re.search(title, window.title):
                return window
        return None

    def wait_for_window(self, title: str, *, active: bool = True) -> Window:
        """Wait until a window titled like `title` is mapped (and, by default, is the active
        window, so typing reaches it); fail early if the process ends meanwhile."""

        def probe() -> Window | None:
            self.assert_alive()
            window = self.window(title)
            if window is None or (active and self.session.active_window() != window.id):
                return None
            return window

        try:
            return wait_for(f"an active window titled {title!r}", probe)
        except X11Error as error:
            raise X11Error(f"{error}; windows now: {self.titles()}") from None

    def wait_until_gone(self, title: str) -> None:
        """Wait until no window titled like `title` is mapped; the process must live on."""

        def probe() -> bool:
            self.assert_alive()
            return self.window(title) is None

        wait_for(f"the window {title!r} to close", probe)

    def wait_for_exit(self, timeout: float = WAIT_SECONDS) -> int:
        """Wait until the process ends by itself; its exit code."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise X11Error(
                f"valise still runs after {timeout:.0f} s; windows: {self.titles()}"
            ) from None

    def close(self) -> None:
        """End the process if it still runs, and reap it."""
        end_process(self.proc)
        self._log.close()
