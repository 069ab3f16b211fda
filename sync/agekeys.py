"""Our X25519 keys in age's own text format, so bundles stay readable with the `age` tool.

age writes a recipient as Bech32 with the prefix `age` and an identity as upper-case Bech32
with the prefix `AGE-SECRET-KEY-` (age-encryption.org/v1). The encoding is BIP 173 Bech32
without its 90-character limit, which age does not apply either.
"""

from __future__ import annotations

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: list[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for bit, generator in enumerate(_GENERATOR):
            if (top >> bit) & 1:
                checksum ^= generator
    return checksum


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _to_five_bit(data: bytes) -> list[int]:
    accumulator, bits, out = 0, 0, []
    for byte in data:
        accumulator = (accumulator << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            out.append((accumulator >> bits) & 31)
    if bits:
        out.append((accumulator << (5 - bits)) & 31)
    return out


def bech32_encode(hrp: str, data: bytes) -> str:
    """Bech32 text of `data` under the human-readable prefix `hrp` (lower case)."""
    words = _to_five_bit(data)
    polymod = _polymod([*_hrp_expand(hrp), *words, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[w] for w in words + checksum)


def age_recipient(encryption_public: bytes) -> str:
    """The `age1...` recipient string of a raw X25519 public key."""
    if len(encryption_public) != 32:
        raise ValueError("an X25519 public key is 32 bytes")
    return bech32_encode("age", encryption_public)


def age_identity(encryption_private: bytes) -> str:
    """The `AGE-SECRET-KEY-1...` identity string of a raw X25519 private key."""
    if len(encryption_private) != 32:
        raise ValueError("an X25519 private key is 32 bytes")
    return bech32_encode("age-secret-key-", encryption_private).upper()
