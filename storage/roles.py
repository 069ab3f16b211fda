"""What each role may do in its own office, decided locally and refused with a sentence.

The rules are few and written out here so that a reader can check them against the office's
practice in one place. A refusal is itself recorded in the audit chain (who tried what), so
a supervisor reviewing the log sees attempts as well as acts.

These checks protect against mistakes and against a colleague stepping out of their role in
the application. They are not a wall against a user who copies the database key out of a
running process: every user's slot opens the same key (issue 13's design), so what the
office's peers accept is decided from signed history, not from these checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from storage import audit
from storage.errors import StorageError
from storage.users import INVESTIGATOR, PROTECTION_OFFICER, ROLE_WORDS, SUPERVISOR

if TYPE_CHECKING:
    from storage.workspace import Workspace


@dataclass(frozen=True)
class Action:
    """Something only some roles may do; `words` completes "only a … may"."""

    name: str
    roles: tuple[str, ...]


RECORD = Action("record", (INVESTIGATOR, PROTECTION_OFFICER, SUPERVISOR))
REVEAL_IDENTITY = Action("reveal identity", (PROTECTION_OFFICER,))
CHANGE_PROTECTION = Action("change protection", (PROTECTION_OFFICER,))
APPROVE_RELEASE = Action("approve release", (SUPERVISOR,))
MANAGE_PEERS = Action("manage peers", (SUPERVISOR,))
MANAGE_USERS = Action("manage users", (SUPERVISOR,))
MANAGE_KEYS = Action("manage keys", (SUPERVISOR,))

ALL_ACTIONS = (
    RECORD,
    REVEAL_IDENTITY,
    CHANGE_PROTECTION,
    APPROVE_RELEASE,
    MANAGE_PEERS,
    MANAGE_USERS,
    MANAGE_KEYS,
)


class NotPermitted(StorageError):
    """The user who unlocked may not do this; the sentence says who may."""


def permitted(ws: Workspace, action: Action) -> bool:
    """True when the user who unlocked may do `action`. A workspace with no users yet
    (from before named users, until its first unlock by passphrase) allows everything;
    one opened without a user (by recovery) allows nothing that needs a role."""
    user = ws.user
    if user is None:
        return not ws.has_users
    return user.active and user.role in action.roles


def _allowed_words(action: Action) -> str:
    words = [ROLE_WORDS[role] for role in action.roles]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _article(words: str) -> str:
    return "an" if words[:1] in "aeiouAEIOU" else "a"


def refusal(ws: Workspace, action: Action, what: str) -> str:
    """The sentence a person reads when `what` (such as "reveal the identity of W-03") is
    refused to them."""
    allowed = _allowed_words(action)
    user = ws.user
    if user is None:
        who = "Nobody is signed in by name (the workspace was opened by recovery)"
    else:
        who = f"{user.name} is {_article(user.role_words)} {user.role_words} here"
    return (
        f"{who}; only {_article(allowed)} {allowed} may {what}. Nothing changed, and the"
        " attempt is recorded in the audit log."
    )


def require(ws: Workspace, action: Action, what: str) -> None:
    """Go on when the user may do `action`; otherwise record the attempt in the audit
    chain (in a transaction of its own, so it stays when the caller's work is undone) and
    raise NotPermitted with the sentence."""
    if permitted(ws, action):
        return
    sentence = refusal(ws, action, what)
    with ws.transaction() as conn:
        audit.append(conn, ws.author, "refused", what, {"action": action.name})
    raise NotPermitted(sentence)
