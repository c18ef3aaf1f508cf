"""Wire format helpers for the Bot API emulator: request parsing, errors, file bytes.

Telegram accepts the same parameters as a query string, ``application/x-www-form-urlencoded``,
``multipart/form-data`` or a JSON body. In the form encodings every value is a string and objects
(``reply_markup``, ``scope``, ``commands``...) are JSON-encoded strings, so :class:`Params` decodes a
value by the type the method expects, exactly like the real server does.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

__all__ = ["ApiError", "Params", "Upload", "image_size", "read_params", "tiny_png"]


class ApiError(Exception):
    """An error answered as ``{"ok": false, ...}`` with the HTTP status equal to ``error_code``."""

    def __init__(self, error_code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        """Render the error the way api.telegram.org does."""
        body: dict[str, Any] = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(what: str) -> ApiError:
    """Build a 400 with Telegram's ``Bad Request: ...`` prefix."""
    return ApiError(400, f"Bad Request: {what}")


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str
    content_type: str
    data: bytes


class Params:
    """Method parameters from any encoding, decoded on access by the expected type."""

    def __init__(self, raw: dict[str, Any], files: dict[str, Upload] | None = None) -> None:
        self.raw = raw
        self.files = files or {}

    def __contains__(self, name: str) -> bool:
        return name in self.raw or name in self.files

    def string(self, name: str, default: str | None = None) -> str | None:
        value = self.raw.get(name)
        if value is None:
            return default
        return value if isinstance(value, str) else json.dumps(value)

    def require_str(self, name: str) -> str:
        value = self.string(name)
        if not value:
            raise bad_request(f"{name} is empty")
        return value

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise bad_request(f"invalid {name} specified")
        if isinstance(value, int):
            return value
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def require_int(self, name: str) -> int:
        value = self.integer(name)
        if value is None:
            raise bad_request(f"{name} is empty")
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.raw.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in {"true", "1"}

    def object(self, name: str) -> Any:
        """Return an object/array parameter; form encodings carry it as a JSON string."""
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return value

    def chat_id(self, name: str = "chat_id") -> int | str:
        """Return a numeric chat id, or the ``@username`` string for public chats."""
        value = self.raw.get(name)
        if value is None or value == "":
            raise bad_request("chat_id is empty")
        if isinstance(value, str) and value.startswith("@"):
            return value
        parsed = self.integer(name)
        assert parsed is not None  # checked above
        return parsed

    def file(self, name: str) -> Upload | str | None:
        """Return an uploaded file (direct part or ``attach://`` reference) or a file_id/URL string."""
        value = self.raw.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            attached = self.files.get(value.removeprefix("attach://"))
            if attached is None:
                raise bad_request(f"wrong HTTP URL specified for {name}")
            return attached
        if name in self.files:
            return self.files[name]
        return value if isinstance(value, str) else None

    def loggable(self) -> dict[str, Any]:
        """Parameters with objects decoded and uploads summarised, for the request record."""
        out: dict[str, Any] = {}
        for key, value in self.raw.items():
            if isinstance(value, str) and value[:1] in "[{":
                try:
                    out[key] = json.loads(value)
                    continue
                except ValueError:
                    pass
            out[key] = value
        for key, upload in self.files.items():
            out.setdefault(key, f"<upload {upload.filename} {len(upload.data)} bytes>")
        return out


async def read_params(request: web.Request) -> Params:
    """Parse the query string and the body in whichever encoding the client chose."""
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, Upload] = {}
    if request.method != "POST" or not request.body_exists:
        return Params(raw, files)
    ctype = request.content_type
    try:
        if ctype == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                raise bad_request("parameters must be a JSON object")
            raw.update(body)
        elif ctype == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader) or part.name is None:
                    continue
                if part.filename is not None:
                    files[part.name] = Upload(
                        part.filename, part.headers.get("Content-Type", ""), bytes(await part.read())
                    )
                else:
                    # aiogram sends ``photo=attach://photo`` *and* a file part named ``photo``;
                    # keeping text fields and files apart lets both spellings resolve.
                    raw[part.name] = await part.text()
        else:
            raw.update(await request.post())
    except (ValueError, UnicodeDecodeError):
        raise bad_request("can't parse request body") from None
    return Params(raw, files)


def tiny_png(width: int = 2, height: int = 2) -> bytes:
    """Build a valid grey PNG, so a downloaded "photo" is a real image."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def image_size(data: bytes) -> tuple[int, int]:
    """Return (width, height) of a PNG or JPEG; (0, 0) when unknown, which Telegram never sends."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                break
            marker, length = data[i + 1], struct.unpack(">H", data[i + 2 : i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + length
    return 0, 0
