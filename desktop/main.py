"""`valise`: with no arguments start the desktop application; with a subcommand, the CLI."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    """Console entry point."""
    args = sys.argv[1:] if argv is None else argv
    # Before any worker, thread or child starts: none of them may inherit a passphrase.
    from desktop.env_secrets import take_from_environment

    take_from_environment()
    from desktop.no_core_dumps import forbid_core_dumps

    forbid_core_dumps()  # before any key or passphrase is in memory
    os.umask(0o077)  # workspace files, backups and exports are for this user only
    from desktop.relock import take_locked_start

    # This image follows a lock (`valise`, `valise --gui` or `valise --workspace DIR` was
    # running): ask for that workspace's passphrase again, whatever the arguments say.
    locked = take_locked_start()
    if locked is not None or not args or args[0] in ("--gui", "gui"):
        from desktop.gui import run_gui

        return run_gui(locked=locked)  # else the workspace opened last, or the default one
    from desktop.cli import run_cli

    return run_cli(args)


if __name__ == "__main__":
    sys.exit(main())
