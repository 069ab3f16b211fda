"""`valise demo`: build the fictional Varosa demo and start the application on it.

Someone trying Valise for the first time, or a trainer preparing a session, should see it
with realistic data at once, without typing a case file by hand: this command makes the
three demo workspaces (two field offices and a tribunal liaison, see desktop.demo), says
loudly that they are a demo and which passphrase opens them, and opens the liaison's.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from desktop.demo import DEMO_PASSPHRASE, build_demo, is_demo_folder, liaison_folder
from desktop.output import line, say
from storage.paths import default_workspace_dir

DEMO_FOLDER_NAME = "varosa-demo"


def default_demo_folder() -> Path:
    """Beside the default workspace (never inside it), so the demo cannot be mistaken for
    the office's real workspace: `~/.local/share/valise/varosa-demo` on Linux."""
    return default_workspace_dir().parent / DEMO_FOLDER_NAME


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add `demo` to the command tree (`common` is accepted like every module's register,
    but the demo makes its own workspaces, so `--workspace` does not apply)."""
    p = commands.add_parser(
        "demo",
        help="build the fictional Varosa demo (two offices and a liaison) and open it",
        description="Builds three demo workspaces with fictional data (the Republic of "
        "Varosa): two field offices and a tribunal liaison that holds both offices' cases "
        "and one conflict to settle. Then starts the application on the liaison's workspace. "
        "An existing demo in the folder is opened again unless --rebuild is given.",
    )
    p.add_argument(
        "--folder",
        metavar="DIR",
        help=f"where to put the demo (default: {default_demo_folder()})",
    )
    p.add_argument("--rebuild", action="store_true", help="replace an existing demo in the folder")
    p.add_argument(
        "--no-start",
        action="store_true",
        help="only build; print the liaison's workspace folder instead of starting the app",
    )
    p.set_defaults(run=cmd_demo)


def warn_demo(folder: Path) -> None:
    """The warning every run prints: this is not a place for real work, and how to open it."""
    say(
        "valise: warning: DEMO ONLY. The workspaces in "
        f"{folder} hold fictional data (the Republic of Varosa) for trying Valise; never "
        "record real cases in them.\n"
        f"valise: every demo workspace opens with the passphrase: {DEMO_PASSPHRASE}"
    )


def cmd_demo(args: argparse.Namespace) -> int:
    """Build the demo (or reuse a finished one) and open the liaison's workspace."""
    folder = Path(args.folder).expanduser() if args.folder else default_demo_folder()
    if is_demo_folder(folder) and not args.rebuild:
        workspace = liaison_folder(folder)
        say(f"valise: opening the existing demo in {folder}")
    else:
        say(f"valise: building the demo in {folder}…")
        workspace = build_demo(folder, DEMO_PASSPHRASE, replace=args.rebuild)
    warn_demo(folder)
    if args.no_start:
        line(workspace)
        return 0
    from desktop.gui import run_gui  # Qt only when a window is really wanted

    return run_gui(workspace)
