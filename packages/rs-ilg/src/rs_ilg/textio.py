"""Decoding of the text inputs (rotmod files, the SPARC table): one rule for every reader.

Accepted: UTF-8 with or without a byte-order mark, UTF-16 with its byte-order mark, and any line ending
(``\\n``, ``\\r\\n``, ``\\r``; the readers split with :meth:`str.splitlines`). Anything else is refused with a
``UnicodeError`` subclass message naming the source, the encoding tried and the offending byte offset.
"""

from __future__ import annotations

import codecs

__all__ = ["TextDecodeError", "decode_text"]


class TextDecodeError(ValueError):
    """A text input that is not UTF-8 (or BOM-marked UTF-16): ``source``, ``encoding`` tried, byte ``offset``."""

    def __init__(self, source: str, encoding: str, offset: int, detail: str) -> None:
        self.source, self.encoding, self.offset = source, encoding, offset
        super().__init__(f"{source}: not {encoding} text (byte offset {offset}: {detail}); save the file as UTF-8")


def decode_text(raw: bytes, source: str) -> str:
    """``raw`` as text: a UTF-16 BOM selects UTF-16, otherwise UTF-8 (a UTF-8 BOM is dropped).

    Raises :class:`TextDecodeError` (a ``ValueError``) naming ``source``, the encoding and the byte offset.
    """
    encoding = "UTF-16" if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "UTF-8"
    try:
        return raw.decode("utf-16" if encoding == "UTF-16" else "utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TextDecodeError(source, encoding, exc.start, exc.reason) from None
