"""user add, user list, user remove, user passwd: the people of one office and their roles.

The storage side is storage.users (slots and rows) and storage.roles (who may do what).
Every command unlocks as the person running it (--user / VALISE_USER); managing other
users needs a supervisor, and a refusal is a sentence and an audit entry.
"""

from __future__ import annotations

import argparse
from typing import Any

from desktop.cli import read_new_passphrase, unlock
from desktop.env_secrets import NEW_PASSPHRASE_ENV
from desktop.output import print_json, print_table, say
from storage import users


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add `valise user ...`."""
    p = commands.add_parser(
        "user", parents=[common], help="the office's users: add, list, remove, set a passphrase"
    )
    sub = p.add_subparsers(dest="user_command", metavar="ACTION", required=True)

    s = sub.add_parser(
        "add",
        parents=[common],
        help="give someone a passphrase of their own and a role (supervisors)",
        description="Add a user. Their passphrase is read from VALISE_NEW_PASSPHRASE, or"
        " asked twice. Roles: investigator (records and edits), protection-officer (also"
        " reveals protected identities and changes protection), supervisor (manages users,"
        " peers, keys and releases), it (maintenance; records nothing).",
    )
    s.add_argument("name", metavar="NAME", help="the name they will type to unlock")
    s.add_argument("--role", required=True, choices=users.ROLES, help="what they may do")
    s.set_defaults(run=cmd_user_add)

    s = sub.add_parser("list", parents=[common], help="the users and their roles")
    s.add_argument("--all", action="store_true", help="removed users too")
    s.add_argument("--json", action="store_true")
    s.set_defaults(run=cmd_user_list)

    s = sub.add_parser(
        "remove",
        parents=[common],
        help="take away a user's way in (supervisors); history keeps their name",
    )
    s.add_argument("name", metavar="NAME")
    s.set_defaults(run=cmd_user_remove)

    s = sub.add_parser(
        "passwd",
        parents=[common],
        help="set a user's passphrase (your own, or anyone's as a supervisor)",
        description="Set a new passphrase (from VALISE_NEW_PASSPHRASE, or asked twice) for"
        " NAME, or for yourself without NAME. The database key stays the same: see rekey.",
    )
    s.add_argument("name", metavar="NAME", nargs="?")
    s.set_defaults(run=cmd_user_passwd)


def cmd_user_add(args: argparse.Namespace) -> int:
    """Add a user with a role; their passphrase is read after the unlock."""
    with unlock(args) as ws:
        users.require_may_manage(ws, f"add the user {users.normal_name(args.name)!r}")
        passphrase = read_new_passphrase(NEW_PASSPHRASE_ENV)
        user = users.add_user(ws, args.name, args.role, passphrase)
    say(
        f"Added {user.name}, {user.role_words}. They unlock with their own passphrase"
        f" (--user {user.name!r} or VALISE_USER)."
    )
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    """Name, role, when and by whom added (and removed)."""
    with unlock(args) as ws:
        listed = users.all_users(ws.conn, with_removed=args.all)
        me = ws.user.id if ws.user else ""
    if args.json:
        print_json(
            [
                {
                    "name": u.name,
                    "role": u.role,
                    "added_at": u.created_at,
                    "added_by": u.created_by,
                    "removed_at": u.removed_at,
                    "removed_by": u.removed_by,
                    "you": u.id == me,
                }
                for u in listed
            ]
        )
        return 0
    rows = [
        [
            u.name + (" (you)" if u.id == me else ""),
            u.role,
            f"{u.created_at[:10]} by {u.created_by}",
            f"{u.removed_at[:10]} by {u.removed_by}" if u.removed_at else "",
        ]
        for u in listed
    ]
    print_table(["USER", "ROLE", "ADDED", "REMOVED"], rows)
    return 0


def cmd_user_remove(args: argparse.Namespace) -> int:
    """Remove a user: their slot leaves the key file; history keeps their name."""
    with unlock(args) as ws:
        user = users.remove_user(ws, args.name)
    say(
        f"Removed {user.name}: their passphrase no longer opens this workspace. Their"
        " changes and audit entries keep their name. Copies of the key file and backups"
        " made before still hold their slot: run `valise rekey` if they may have one."
    )
    return 0


def cmd_user_passwd(args: argparse.Namespace) -> int:
    """A new passphrase for NAME or for the person running it."""
    with unlock(args) as ws:
        if args.name is not None:
            users.require_may_set_passphrase(ws, args.name)
        new = read_new_passphrase(NEW_PASSPHRASE_ENV)
        user = users.set_passphrase(ws, args.name, new)
    say(
        f"The passphrase of {user.name} was set. The database key is the same: an older"
        " copy of the key file, or a backup, still opens it with the old passphrase"
        " (`valise rekey` changes the key itself)."
    )
    return 0
