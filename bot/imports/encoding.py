"""Read an operator's file in the encoding it was saved in: UTF-8 (with or without a BOM) or GBK / GB18030.

Excel and WPS on Chinese Windows save "CSV (逗号分隔)" and text files in the ANSI code page, GBK; "CSV UTF-8"
starts with a BOM. UTF-8 is tried first (a BOM is dropped): a GBK file with Chinese in it is almost never valid
UTF-8. Then GB18030, a superset of GBK that also decodes every character GBK lacks. Because GB18030 accepts
most byte sequences, a file in some third encoding could be misread rather than refused: the caller is told
which encoding was used, and a warning is logged when it was not UTF-8.
"""

from __future__ import annotations

import codecs
import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MAX_BYTES = 64 * 1024 * 1024  # 100k ledger rows are about 8 MB; anything this big is a wrong file


class UnreadableFile(Exception):
    """The file cannot be read or decoded: one line, with the line number (1-based) when known, else 0."""

    def __init__(self, name: str, line: int, message: str) -> None:
        super().__init__(f"{name}:{line}: {message}" if line else f"{name}: {message}")
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Document:
    text: str
    encoding: str  # "utf-8", "utf-8-sig" (a BOM was present) or "gb18030"


def decode(data: bytes, name: str) -> Document:
    """Decode `data` (from the file `name`) as UTF-8 with or without a BOM, else GB18030."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableFile(
            name, 0, 'saved as UTF-16 ("Unicode text"): save it again as "CSV UTF-8" or as plain CSV'
        )
    encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        return Document(data.decode(encoding), encoding)
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise UnreadableFile(
            name, line, f"neither UTF-8 nor GBK/GB18030 (byte 0x{data[error.start]:02x}): save it as UTF-8"
        ) from error
    log.warning("%s is not UTF-8: read as GB18030 (GBK); check that the names read correctly", name)
    return Document(text, "gb18030")


def read_document(path: Path) -> Document:
    """Read and decode a file; UnreadableFile (one line) when it is missing, too big or undecodable."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise UnreadableFile(str(path), 0, f"{size // 1_000_000} MB is too big for this file")
        data = path.read_bytes()
    except OSError as error:
        raise UnreadableFile(str(path), 0, f"cannot read the file: {error.strerror}") from error
    return decode(data, str(path))
