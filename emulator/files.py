"""Files the emulated Telegram holds: photos with real-looking ids, fetched or uploaded.

A photo is stored once and shown as several `PhotoSize`s (thumbnails up to the original), each
with its own `file_id` and `file_unique_id`, as Telegram shows it. A bot may send a photo by
`file_id`, by upload (multipart) or by HTTP URL: the emulator then fetches the URL itself, as
Telegram's servers do, and counts every fetch so a test can assert "Telegram fetched the image
once". It has no internet: it fetches only from 127.0.0.1 (where tests serve images; plain
http:// is accepted there, which Telegram would also accept), and otherwise serves what a test
put in :attr:`FileStore.hosted` under any URL, e.g. ``https://images.example.org/a.jpg``.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import struct
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from .errors import bad_request

__all__ = [
    "MAX_PHOTO_UPLOAD_BYTES",
    "MAX_PHOTO_URL_BYTES",
    "FileStore",
    "HostedFile",
    "StoredPhoto",
    "image_size",
    "make_png",
]

MAX_PHOTO_URL_BYTES = 5 * 1024 * 1024  # "5 MB max size for photos" sent by URL
MAX_PHOTO_UPLOAD_BYTES = 10 * 1024 * 1024  # "10 MB max size for photos" uploaded
FETCH_TIMEOUT_SECONDS = 10.0
_LOOPBACK = frozenset({"127.0.0.1", "localhost"})
# Telegram's thumbnails: a label and the longest side it is scaled down to
_SIZES = (("s", 90), ("m", 320), ("x", 800), ("y", 1280), ("w", 2560))

# Telegram's answers (the Bot API turns WEBPAGE_CURL_FAILED, WEBPAGE_MEDIA_EMPTY and
# MEDIA_EMPTY from its servers into these)
FAILED_URL = "failed to get HTTP URL content"
WRONG_FILE = "wrong file identifier/HTTP URL specified"
WRONG_TYPE = "wrong type of the web page content"
NOT_AN_IMAGE = "IMAGE_PROCESS_FAILED"
BAD_DIMENSIONS = "PHOTO_INVALID_DIMENSIONS"
# what Telegram answers for a photo upload over its 10 MB (PHOTO_SAVE_FILE_INVALID, as seen in
# zhukov/webogram#1011); a URL over 5 MB is a failed fetch for it (FAILED_URL)
UPLOAD_TOO_BIG = "PHOTO_SAVE_FILE_INVALID"
NO_PHOTO = "there is no photo in the request"


@dataclass(frozen=True, slots=True)
class HostedFile:
    """What a URL answers when the emulator fetches it (see :attr:`FileStore.hosted`)."""

    body: bytes
    content_type: str = "image/jpeg"
    status: int = 200


@dataclass(slots=True)
class StoredPhoto:
    """One photo as Telegram keeps it: its sizes (PhotoSize dicts, smallest first)."""

    sizes: list[dict[str, Any]]
    source: str  # "url", "upload" or "user"
    url: str | None = None

    @property
    def largest(self) -> dict[str, Any]:
        return self.sizes[-1]


@dataclass
class FileStore:
    """Photos by file_id, the fetches made for URLs, and the uploads received."""

    bot_id: int = 0
    hosted: dict[str, HostedFile] = field(default_factory=dict)
    downloads: Counter[str] = field(default_factory=Counter)  # fetch attempts per URL
    uploads: int = 0  # photos received by multipart upload
    _by_file_id: dict[str, tuple[StoredPhoto, int]] = field(default_factory=dict)
    _photos: list[StoredPhoto] = field(default_factory=list)
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    _session: aiohttp.ClientSession | None = None

    # -- reading -------------------------------------------------------------------------

    @property
    def fetches(self) -> int:
        """Images that reached Telegram: URL fetches plus uploads."""
        return sum(self.downloads.values()) + self.uploads

    @property
    def photos(self) -> list[StoredPhoto]:
        """Every photo stored, in order."""
        return list(self._photos)

    def lookup(self, file_id: str) -> list[dict[str, Any]] | None:
        """The PhotoSizes a file_id sends (a thumbnail's id sends up to that size)."""
        found = self._by_file_id.get(file_id)
        if found is None:
            return None
        photo, index = found
        return [dict(size) for size in photo.sizes[: index + 1]]

    def reset(self) -> None:
        self.downloads.clear()
        self.uploads = 0

    # -- storing -------------------------------------------------------------------------

    def store(
        self,
        width: int,
        height: int,
        size_bytes: int,
        *,
        source: str,
        content: bytes = b"",
        url: str | None = None,
    ) -> StoredPhoto:
        """Keep a photo of `width` × `height` (`size_bytes` for the original) and make its
        sizes, each with a new file_id and a file_unique_id."""
        serial = next(self._counter)
        digest = hashlib.sha256(content or f"{serial}:{width}x{height}".encode()).digest()
        sizes: list[dict[str, Any]] = []
        longest = max(width, height)
        for label, bound in _SIZES:
            scale = min(1.0, bound / longest)
            w, h = max(1, round(width * scale)), max(1, round(height * scale))
            area = (w * h) / (width * height)
            sizes.append(
                {
                    "file_id": self._file_id(serial, len(sizes)),
                    "file_unique_id": _unique_id(digest, label),
                    "file_size": max(300, int(size_bytes * area)),
                    "width": w,
                    "height": h,
                }
            )
            if scale >= 1.0:
                break
        photo = StoredPhoto(sizes, source, url)
        self._photos.append(photo)
        for index, size in enumerate(sizes):
            self._by_file_id[size["file_id"]] = (photo, index)
        return photo

    def _file_id(self, serial: int, index: int) -> str:
        # the shape of Telegram's photo ids: type, DC, owner, serial, access hash
        access = hashlib.blake2b(f"{self.bot_id}:{serial}:{index}".encode(), digest_size=8)
        raw = (
            b"\x02\x00\x00\x02\x02"
            + struct.pack("<QQB", self.bot_id & (2**64 - 1), serial, index)
            + access.digest()
        )
        return "AgAC" + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    # -- receiving -----------------------------------------------------------------------

    def from_upload(self, content: bytes) -> StoredPhoto:
        self.uploads += 1
        if len(content) > MAX_PHOTO_UPLOAD_BYTES:
            raise bad_request(UPLOAD_TOO_BIG)
        width, height = _dimensions(content)
        return self.store(width, height, len(content), source="upload", content=content)

    async def from_url(self, url: str) -> StoredPhoto:
        """Fetch `url` as Telegram would, once per call, and keep the photo."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise bad_request(WRONG_FILE)
        self.downloads[url] += 1
        hosted = self.hosted.get(url)
        if hosted is not None:
            status, content_type, body = hosted.status, hosted.content_type, hosted.body
        elif parts.hostname in _LOOPBACK:
            status, content_type, body = await self._fetch(url)
        else:  # no internet here: only loopback and what tests host
            raise bad_request(FAILED_URL)
        if status != 200:
            raise bad_request(FAILED_URL)
        if not content_type.lower().startswith("image/"):
            raise bad_request(WRONG_TYPE)
        if len(body) > MAX_PHOTO_URL_BYTES:
            raise bad_request(FAILED_URL)
        width, height = _dimensions(body)
        return self.store(width, height, len(body), source="url", content=body, url=url)

    async def _fetch(self, url: str) -> tuple[int, str, bytes]:
        """Status, content type and body (at most one byte over the limit, so an image too
        big is seen as such without reading it all)."""
        if self._session is None or self._session.closed:
            timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_SECONDS)
            self._session = aiohttp.ClientSession(timeout=timeout)
        try:
            async with self._session.get(url) as response:
                content_type = response.headers.get("Content-Type", "")
                declared = response.content_length
                if declared is not None and declared > MAX_PHOTO_URL_BYTES:
                    return response.status, content_type, bytes(MAX_PHOTO_URL_BYTES + 1)
                body = bytearray()
                async for chunk in response.content.iter_chunked(64 * 1024):
                    body += chunk
                    if len(body) > MAX_PHOTO_URL_BYTES:
                        break
                return response.status, content_type, bytes(body)
        except (aiohttp.ClientError, TimeoutError):
            return 0, "", b""

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _unique_id(digest: bytes, label: str) -> str:
    raw = hashlib.blake2b(digest + label.encode(), digest_size=9).digest()
    return "AQAD" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _dimensions(content: bytes) -> tuple[int, int]:
    size = image_size(content)
    if size is None:
        raise bad_request(NOT_AN_IMAGE)
    width, height = size
    if width + height > 10_000 or max(width, height) > 20 * min(width, height):
        raise bad_request(BAD_DIMENSIONS)
    return size


def image_size(content: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF, JPEG or WebP image; None for anything else."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and content[12:16] == b"IHDR":
        width, height = struct.unpack(">II", content[16:24])
        return (width, height) if width and height else None
    if content[:6] in (b"GIF87a", b"GIF89a") and len(content) >= 10:
        width, height = struct.unpack("<HH", content[6:10])
        return (width, height) if width and height else None
    if content.startswith(b"RIFF") and content[8:12] == b"WEBP" and content[12:16] == b"VP8X":
        width = int.from_bytes(content[24:27], "little") + 1
        height = int.from_bytes(content[27:30], "little") + 1
        return width, height
    if content.startswith(b"\xff\xd8"):
        return _jpeg_size(content)
    return None


def _jpeg_size(content: bytes) -> tuple[int, int] | None:
    at = 2
    while at + 9 < len(content):
        if content[at] != 0xFF:
            return None
        marker = content[at + 1]
        length = struct.unpack(">H", content[at + 2 : at + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", content[at + 5 : at + 9])
            return (width, height) if width and height else None
        at += 2 + length
    return None


def make_png(width: int = 640, height: int = 480, *, padding: int = 0) -> bytes:
    """A valid PNG of one colour (for tests and benchmarks); `padding` bytes of an ancillary
    chunk make it as large as wanted."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x30\x80\xc0" * width for _ in range(height))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
    if padding:
        png += chunk(b"tEXt", b"pad\x00" + b"p" * padding)
    return png + chunk(b"IEND", b"")
