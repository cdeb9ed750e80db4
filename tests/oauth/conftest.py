"""Helpers for the auth-service tests: real image files made on the fly, and applications made through the service."""

import functools
import io
import struct
import zlib

import pytest
from PIL import Image

from fleetadmin.core.actors import SYSTEM
from fleetadmin.oauth import services

VALID_APP = {
    "client_name": "Fleet dashboard",
    "client_authentication": "required",
    "pkce": "required",
    "url_validation": "exact_match",
    "enabled_grants": ["authorization_code", "refresh_token"],
    "redirect_uris": ["https://dashboard.example.com/callback"],
    "logout_uri": "https://dashboard.example.com/logout",
    "origin_uris": ["https://dashboard.example.com"],
    "invite_redirect_uri": "",
}


def png(width: int = 64, height: int = 64, mode: str = "RGBA", color=(31, 79, 209, 255)) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height), color if mode in {"RGB", "RGBA"} else 0).save(buffer, format="PNG")
    return buffer.getvalue()


def image(fmt: str, width: int = 64, height: int = 64) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


def noisy_png(width: int, height: int) -> bytes:
    """A PNG that does not compress: its size is about width × height × 3 bytes."""
    import random

    rng = random.Random(4)
    pixels = bytes(rng.getrandbits(8) for _ in range(width * height * 3))
    buffer = io.BytesIO()
    Image.frombytes("RGB", (width, height), pixels).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@functools.cache
def png_bomb(side: int = 20000) -> bytes:
    """A valid 1-bit side × side PNG of zeros, written row by row so the test never holds the pixels.

    20000 × 20000 is 400 million pixels (50 MB of 1-bit rows) in about 50 KB of file.
    """
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit grayscale
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + packed pixels
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


@pytest.fixture
def make_app(fleet):
    """Create an application through the service (as the system), returning the IssuedClient."""

    def make(organization=None, **overrides):
        return services.oauth_app_create(
            actor=SYSTEM, organization=organization or fleet.org, **{**VALID_APP, **overrides}
        )

    return make
