"""Passphrase strength rules, applied when a passphrase is chosen (init and passwd)."""

from __future__ import annotations

import functools
import itertools
from importlib import resources

from storage.errors import WeakPassphrase

MIN_LENGTH = 12
MAX_BYTES = 1024

_KEYBOARD_ROWS = (
    "`1234567890-=",
    "qwertyuiop[]\\",
    "asdfghjkl;'",
    "zxcvbnm,./",
    "azertyuiop",
    "qwertzuiopü",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik,9ol.0p;/",
)


@functools.cache
def _common_passwords() -> frozenset[str]:
    text = resources.files("storage").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def _is_run(text: str) -> bool:
    """True for runs such as 'aaaaaaaaaaaa', '123456789012', 'abcdefghijkl' or keyboard rows."""
    if len(set(text)) <= 2:
        return True
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    if steps <= {1} or steps <= {-1} or steps <= {1, -9}:
        return True
    return any(text in row * 4 or text in row[::-1] * 4 for row in _KEYBOARD_ROWS)


def weakness(passphrase: str) -> str | None:
    """Say why `passphrase` is too weak, or None when it is acceptable."""
    if len(passphrase) < MIN_LENGTH:
        return f"it is shorter than {MIN_LENGTH} characters"
    if len(passphrase.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        return f"it is longer than {MAX_BYTES} bytes"
    if passphrase.strip() != passphrase or not passphrase.strip():
        return "it starts or ends with spaces, which are easy to lose when typing it"
    lowered = passphrase.lower()
    if lowered in _common_passwords():
        return "it is on lists of common passwords that attackers try first"
    if _is_run(lowered):
        return "it is a run of repeated, sequential or neighbouring keys"
    core = lowered.rstrip("0123456789!?.*#@$ ")
    if core in _common_passwords() or (len(core) >= 4 and _is_run(core)):
        return "it is a common password with a few characters added"
    return None


def check_new_passphrase(passphrase: str) -> None:
    """Raise WeakPassphrase with the reason when `passphrase` must not be used."""
    reason = weakness(passphrase)
    if reason:
        raise WeakPassphrase(f"Choose a stronger passphrase: {reason}.")


def encode_passphrase(passphrase: str) -> bytes:
    """The bytes fed to the KDF, for any text a keyboard, a terminal or a variable can give.

    Non-UTF-8 bytes from a terminal or the environment arrive as escaped surrogates and go
    back to the same bytes; any other lone surrogate (pasted from a broken source) is kept
    as its UTF-8-style encoding rather than refused, so the same text always gives the same key.
    """
    try:
        return passphrase.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return passphrase.encode("utf-8", "surrogatepass")
