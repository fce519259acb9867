"""Reads the frames a child writes on its result pipe, in one pass with bounded work per byte.

The harness writes each job's trace as one frame, `\\n<nonce> <length>\\n<body>`
(`harness.write_frame`; the body is MessagePack, decoded by `grader.tracecheck`). Student code shares the child's process: it may write anything on that
pipe and, having found a nonce in memory, forge headers too. So a frame is read by these rules:

- A frame is a header carrying a nonce that is still waiting, then the body of the length it
  declares. The first frame of a nonce decides that job's trace; later headers with that nonce
  are ignored, and the bytes around frames too.
- The body of the first frame is the job's trace, as bytes: the trace check in
  `grader.tracecheck` decodes it with the job's kind and judges its shape. A frame whose length
  is not a number decides an *unreadable* trace, which the trace check refuses as malformed:
  the submission's own outcome.
- A frame cut short by the end of the stream is no trace at all.

Each byte costs a bounded amount of work: the next header is searched for in C (`bytes.find`
of each waiting nonce's marker, resumed where the last search stopped), a body is decoded once,
when it is whole, and at most one frame per nonce is ever decoded. A flood of forged headers
therefore costs one scan, not a parse each (64 MB of them: a few hundredths of a second).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MAX_LENGTH_DIGITS = 10  # a body of more than 9,999,999,999 bytes is nothing the grader reads
COMPACT_BYTES = 1 << 20  # consumed bytes are dropped once there are this many


@dataclass(frozen=True)
class Unreadable:
    """A trace that says why its frame could not be read; no trace check accepts it."""

    reason: str


Body = bytes | Unreadable  # what a frame decided for its job


class FrameReader:
    """Feed it a child's result pipe chunk by chunk; ask it for each job's trace at any time."""

    def __init__(self, nonces: Sequence[str]) -> None:
        self._traces: dict[str, Body] = {}
        self._waiting = {nonce: f"\n{nonce} ".encode("ascii") for nonce in nonces}  # nonce: its marker
        self._marker_bytes = max((len(marker) for marker in self._waiting.values()), default=0)
        self._buffer = bytearray()
        self._position = 0  # where the search for the next header resumes, or where a body starts
        self._body: tuple[str, int] | None = None  # (nonce, length) of the frame whose body is coming

    def feed(self, chunk: bytes) -> None:
        if not self._waiting:
            return  # every trace is decided: the rest is read and dropped
        self._buffer += chunk
        try:
            self._advance()
        except Exception as error:  # a reader fault must not pass for anyone's trace: every waiting one is unreadable
            for nonce in list(self._waiting):
                self._decide(nonce, Unreadable(f"{type(error).__name__} while reading frames"))
        self._compact()

    def trace(self, nonce: str) -> Body | None:
        """The job's trace, an unreadable trace, or None while (or when) no frame of it is whole."""
        return self._traces.get(nonce)

    def is_decided(self, nonce: str) -> bool:
        return nonce in self._traces

    def _advance(self) -> None:
        while self._waiting:
            if self._body is not None:
                if not self._take_body(*self._body):
                    return
                continue
            found = self._next_marker()
            if found is None:
                self._position = max(self._position, len(self._buffer) - self._marker_bytes + 1)  # a marker cut by the chunk's end
                return
            if not self._take_header(*found):
                return

    def _next_marker(self) -> tuple[int, str] | None:
        """Where the first marker of a waiting nonce starts, at or after the position, and its nonce."""
        found = [(self._buffer.find(marker, self._position), nonce) for nonce, marker in self._waiting.items()]
        return min(((at, nonce) for at, nonce in found if at != -1), default=None)

    def _take_header(self, at: int, nonce: str) -> bool:
        """Read the length after a nonce's marker; False when the rest of it has not come yet."""
        start = at + len(self._waiting[nonce])
        end = self._buffer.find(b"\n", start, start + MAX_LENGTH_DIGITS + 1)
        if end == -1 and len(self._buffer) <= start + MAX_LENGTH_DIGITS:
            self._position = at
            return False
        digits = bytes(self._buffer[start:end]) if end != -1 else b""
        if not digits.isdigit():  # ASCII digits only: no sign, space or underscore that int() would take
            self._decide(nonce, Unreadable("a frame header whose length is not a number"))
            self._position = start
            return True
        self._body = (nonce, int(digits))
        self._position = end + 1
        return True

    def _take_body(self, nonce: str, length: int) -> bool:
        """Decode the body once it is whole; False while it is still coming."""
        end = self._position + length
        if len(self._buffer) < end:
            return False
        self._decide(nonce, bytes(self._buffer[self._position : end]))
        self._body = None
        self._position = end
        return True

    def _decide(self, nonce: str, trace: Body) -> None:
        self._traces[nonce] = trace
        del self._waiting[nonce]

    def _compact(self) -> None:
        if not self._waiting:
            self._buffer = bytearray()
            self._position = 0
        elif self._position >= COMPACT_BYTES:
            del self._buffer[: self._position]
            self._position = 0


def parse_frame(frames: bytes, nonce: str) -> Body | None:
    """The trace that a whole stream holds for this nonce, read by the rules above."""
    reader = FrameReader([nonce])
    reader.feed(frames)
    return reader.trace(nonce)
