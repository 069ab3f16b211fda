"""The command line: argument parsing, the passphrase, and the mapping of errors to exit codes.

Exit codes: 0 success, 1 a failure explained on stderr, 2 a usage error, 130 interrupted.
The commands themselves live in `desktop.commands`; they call the same storage functions as
the GUI.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from desktop import __version__
from desktop.env_secrets import PASSPHRASE_ENV, passphrase_from_environment
from desktop.output import error, say
from storage.errors import InvalidInput, StorageError, ThrottledUnlock, UserNeeded
from storage.keyfile import FAST_INSECURE_KDF, STANDARD_KDF, KdfParams
from storage.paths import default_workspace_dir
from storage.workspace import Workspace, open_workspace
from sync.authority import check_own_commits
from sync.peers import grant_shares_made_before_grants

KDF_PROFILE_ENV = "VALISE_KDF_PROFILE"
USER_ENV = "VALISE_USER"
MAX_THROTTLE_WAIT = 300.0


class UsageError(Exception):
    """The command line itself is wrong (exit code 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        raise UsageError(message)


def read_passphrase(prompt: str = "Passphrase: ", env: str = PASSPHRASE_ENV) -> str:
    """From the environment when set (taken out of it: see desktop.env_secrets), else a
    no-echo prompt on the terminal."""
    from_env = passphrase_from_environment(env)
    if from_env is not None:
        return from_env
    if not sys.stdin.isatty():
        raise UsageError(f"no passphrase: set {env} or run valise in a terminal")
    try:
        return getpass.getpass(prompt)
    except EOFError:
        raise UsageError("no passphrase was entered") from None


def read_new_passphrase(env: str) -> str:
    """A new passphrase: from the environment, or typed twice."""
    from_env = passphrase_from_environment(env)
    if from_env is not None:
        return from_env
    first = read_passphrase("New passphrase: ", env)
    second = read_passphrase("Repeat the new passphrase: ", env)
    if first != second:
        raise UsageError("the two passphrases differ; nothing was changed")
    return first


STDIN = "-"  # `--name -`, `--text -`: the value comes from standard input
MAX_STDIN_BYTES = 4 * 100_000 + 2  # the longest text a record holds, in UTF-8, and a newline


def from_stdin(value: str | None, what: str) -> str | None:
    """`value` itself, or for `-` the text on standard input: one trailing newline
    removed, refused when empty or not UTF-8. Protected names and privileged notes given
    this way stay out of `ps`, /proc/PID/cmdline and the shell's history."""
    if value != STDIN:
        return value
    data = sys.stdin.buffer.read(MAX_STDIN_BYTES + 1)
    if len(data) > MAX_STDIN_BYTES:
        raise InvalidInput(f"The {what} on standard input is too long; nothing was recorded.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"The {what} on standard input is not UTF-8 text (byte {exc.start + 1} cannot be"
            " read); give it as UTF-8 text. Nothing was recorded."
        ) from None
    text = text.removesuffix("\n").removesuffix("\r")
    if not text.strip():
        raise InvalidInput(
            f"The {what} on standard input is empty; give it there (for example with a"
            " pipe or `< file`). Nothing was recorded."
        )
    return text


def kdf_for_new_workspace() -> KdfParams:
    """Standard Argon2id, unless the test suite asked for its fast, insecure profile."""
    if os.environ.get(KDF_PROFILE_ENV) == "fast-insecure-test":
        say(
            f"valise: warning: {KDF_PROFILE_ENV}=fast-insecure-test makes the passphrase easy "
            "to attack; use it only in tests"
        )
        return FAST_INSECURE_KDF
    return STANDARD_KDF


def workspace_dir(args: argparse.Namespace) -> Path:
    """`--workspace`, else VALISE_WORKSPACE, else the platform's data folder."""
    return Path(args.workspace) if args.workspace else default_workspace_dir()


def user_name(args: argparse.Namespace) -> str | None:
    """`--user`, else VALISE_USER, else None (the workspace's only user). A name is not a
    secret: it stays in the environment for the children that need it."""
    given = getattr(args, "user", None) or os.environ.get(USER_ENV) or ""
    return given.strip() or None


def unlock(args: argparse.Namespace, passphrase: str | None = None) -> Workspace:
    """Open the workspace, waiting out the delay that earlier failed attempts imposed.
    The passphrase is read here unless the command read it already (to use it again)."""
    root = workspace_dir(args)
    if passphrase is None:
        passphrase = read_passphrase()
    user = user_name(args)
    try:
        ws = open_workspace(root, passphrase, user=user)
    except UserNeeded as exc:
        raise StorageError(f"{exc} Say who you are with --user NAME or {USER_ENV}.") from None
    except ThrottledUnlock as exc:
        if exc.wait_seconds > MAX_THROTTLE_WAIT:
            raise
        say(
            f"valise: waiting {exc.wait_seconds:.0f} s after earlier failed unlocks…",
        )
        time.sleep(exc.wait_seconds + 0.05)
        ws = open_workspace(root, passphrase, user=user)
    grant_shares_made_before_grants(ws)  # once, after the upgrade to grants
    check_own_commits(ws)  # a change the offices would hold back is refused at once
    return ws


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    from desktop.commands import register_all

    common = _Parser(add_help=False)
    common.add_argument(
        "--workspace",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="workspace folder (default: $VALISE_WORKSPACE or the platform data folder)",
    )
    common.add_argument(
        "--user",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="who unlocks: your user name (default: $VALISE_USER; not needed in a workspace"
        " with one user). With init: the first user's name, a supervisor",
    )
    parser = _Parser(
        prog="valise",
        description="Valise: encrypted case and evidence keeping. Without a command, "
        "the desktop application starts.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"valise {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    register_all(commands, common)
    return parser


def run_cli(argv: list[str]) -> int:
    """Parse `argv`, run the command, and turn errors into messages and exit codes."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not hasattr(args, "workspace"):
            args.workspace = None
        if not hasattr(args, "user"):
            args.user = None
        handler: Callable[[argparse.Namespace], int | None] | None = getattr(args, "run", None)
        if handler is None and args.workspace:  # `valise --workspace DIR`: the window
            from desktop.gui import run_gui

            return run_gui(Path(args.workspace))
        if handler is None:
            parser.print_help(sys.stderr)
            return 2
        return handler(args) or 0
    except UsageError as exc:
        error(str(exc))
        return 2
    except StorageError as exc:
        error(str(exc))
        return 1
    except KeyboardInterrupt:
        error("interrupted; nothing was changed by the unfinished step")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: say so without dumping data that may be secret
        if os.environ.get("VALISE_DEBUG"):
            raise
        error(
            f"internal error ({type(exc).__name__}); this is a bug. Run again with "
            "VALISE_DEBUG=1 to see the details."
        )
        return 1
