"""FrameRefused: a client frame refused with an error frame (the connection stays usable)."""

from __future__ import annotations

from assistant.chat.protocol import ErrorFrame


class FrameRefused(Exception):
    """A client frame that is refused with an error frame (the connection stays usable)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.frame = ErrorFrame(code=code, detail=detail)
