"""The payload parser as it was before it read frames by offset (main at 2b72176,
sync/bundle_format.py), kept verbatim so that a property test can hold the new parser to
the same frames, digest, counts and refusals for any bytes, however they are split."""

# ruff: noqa
# mypy: ignore-errors

from __future__ import annotations

import hashlib
from collections.abc import Callable

from storage.changesets import MalformedChangeset
from sync.bundle_format import (
    _U32,
    _U64,
    MAX_BLOB_SIZE,
    MAX_CHANGESET_FRAME,
    SIGNATURE_BYTES,
    BlobSink,
    ChangesetFrame,
    parse_changeset_content,
    refuse,
)


class PayloadParser:
    """Reads frames from decrypted bytes as they arrive (pyrage pushes them in 8 KiB
    writes), handing changesets to `on_changeset` and streaming evidence into sinks."""

    def __init__(
        self,
        on_changeset: Callable[[ChangesetFrame], None],
        open_blob: Callable[[int, str], BlobSink],
    ) -> None:
        self._on_changeset = on_changeset
        self._open_blob = open_blob
        self._buffer = bytearray()
        self._need: tuple[str, int] = ("kind", 1)
        self._blob: BlobSink | None = None
        self._blob_left = 0
        self._blob_sha = ""
        self.digest = hashlib.sha256()
        self.size = 0
        self.changesets = 0
        self.blobs = 0
        self.blob_bytes = 0

    def write(self, data: bytes | memoryview) -> int:
        """Accept the next decrypted bytes."""
        view = memoryview(data)
        self.size += len(view)
        while view:
            if self._blob is not None:
                take = min(self._blob_left, len(view))
                self._blob.write(view[:take])
                self._blob_left -= take
                view = view[take:]
                if self._blob_left == 0:
                    self._end_blob()
                continue
            state, need = self._need
            take = min(need - len(self._buffer), len(view))
            self.digest.update(view[:take])
            self._buffer += view[:take]
            view = view[take:]
            if len(self._buffer) == need:
                chunk = bytes(self._buffer)
                self._buffer.clear()
                self._step(state, chunk)
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered that a flush could write."""

    def _step(self, state: str, chunk: bytes) -> None:
        if state == "kind":
            if chunk == b"C":
                self._need = ("changeset length", 4)
            elif chunk == b"B":
                self._need = ("blob header", 8 + 32)
            else:
                raise refuse("malformed", "The bundle's contents hold an unknown kind of record.")
        elif state == "changeset length":
            (length,) = _U32.unpack(chunk)
            if not 4 + SIGNATURE_BYTES < length <= MAX_CHANGESET_FRAME:
                raise refuse("limits", "The bundle declares a changeset of impossible size.")
            self._need = ("changeset", length)
        elif state == "changeset":
            try:
                frame = parse_changeset_content(chunk)
            except MalformedChangeset as exc:
                message = f"A changeset in the bundle is malformed ({exc})."
                raise refuse("malformed", message) from None
            self.changesets += 1
            self._on_changeset(frame)
            self._need = ("kind", 1)
        elif state == "blob header":
            (size,) = _U64.unpack_from(chunk)
            if not 0 < size <= MAX_BLOB_SIZE:
                raise refuse("limits", "The bundle declares an evidence file of impossible size.")
            self._blob_sha = chunk[8:].hex()
            self._blob = self._open_blob(size, self._blob_sha)
            self._blob_left = size
            self.blob_bytes += size

    def _end_blob(self) -> None:
        assert self._blob is not None
        if self._blob.finish() != self._blob_sha:
            raise refuse("digest", "An evidence file in the bundle does not match its SHA-256.")
        self._blob = None
        self.blobs += 1
        self._need = ("kind", 1)

    def finish(self) -> None:
        """The payload ended: it must end between frames."""
        if self._blob is not None or self._buffer or self._need != ("kind", 1):
            raise refuse("truncated", "The bundle's contents end in the middle of a record.")
