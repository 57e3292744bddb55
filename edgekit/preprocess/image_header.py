"""Image size from the header, before decoding: a 389 KB PNG can declare 20000x20000 pixels (1.2 GB decoded).

The limit is the contract's MAX_IMAGE_PIXELS_DEFAULT (64 megapixels), raised with the environment variable
EDGEKIT_MAX_IMAGE_PIXELS. C++: cpp_runtime/src/preprocess.cpp (image_header_size), the same formats and rules.
PNG, JPEG, BMP and PNM headers are read; any other format is checked right after decoding.
"""

from __future__ import annotations

import os
import struct

from edgekit.contract import MAX_IMAGE_PIXELS_DEFAULT, MAX_IMAGE_PIXELS_ENV
from edgekit.errors import InputError

_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def max_pixels() -> int:
    """The limit: $EDGEKIT_MAX_IMAGE_PIXELS when set (a positive integer), else 64 megapixels."""
    raw = os.environ.get(MAX_IMAGE_PIXELS_ENV)
    if raw is None or raw == "":
        return MAX_IMAGE_PIXELS_DEFAULT
    if not raw.isascii() or not raw.isdigit() or int(raw) <= 0:
        raise InputError(
            f"{MAX_IMAGE_PIXELS_ENV}='{raw}' is not a positive integer",
            f"set it to a pixel count, e.g. {MAX_IMAGE_PIXELS_ENV}=100000000, or unset it",
        )
    return int(raw)


def header_size(b: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG/JPEG/BMP/PNM header, or None when the format is not one of them."""
    if b[:8] == b"\x89PNG\r\n\x1a\n" and len(b) >= 24 and b[12:16] == b"IHDR":
        w, h = struct.unpack(">II", b[16:24])
        return w, h
    if b[:2] == b"\xff\xd8":
        i = 2
        while i + 1 < len(b):
            if b[i] != 0xFF:
                return None
            m = b[i + 1]
            if m == 0xFF:  # fill byte
                i += 1
                continue
            if m == 0xD8 or m == 0x01 or 0xD0 <= m <= 0xD7:
                i += 2
                continue
            if i + 4 > len(b):
                return None
            seg = (b[i + 2] << 8) | b[i + 3]
            if m in _SOF:
                if i + 9 > len(b):
                    return None
                h = (b[i + 5] << 8) | b[i + 6]
                w = (b[i + 7] << 8) | b[i + 8]
                return w, h
            if m == 0xDA or m == 0xD9 or seg < 2:
                return None
            i += 2 + seg
        return None
    if b[:2] == b"BM" and len(b) >= 26:
        dib = struct.unpack("<I", b[14:18])[0]
        if dib == 12:
            w, h = struct.unpack("<HH", b[18:22])
            return w, h
        w, h = struct.unpack("<ii", b[18:26])
        return abs(w), abs(h)
    if len(b) >= 2 and b[0:1] == b"P" and b[1:2] in b"123456":
        toks: list[bytes] = []
        i = 2
        while len(toks) < 2 and i < len(b) and i < 4096:
            c = b[i : i + 1]
            if c == b"#":
                while i < len(b) and b[i : i + 1] not in (b"\n", b"\r"):
                    i += 1
            elif c.isspace():
                i += 1
            else:
                j = i
                while j < len(b) and b[j : j + 1].isdigit():
                    j += 1
                if j == i:
                    return None
                toks.append(b[i:j])
                i = j
        if len(toks) == 2:
            return int(toks[0]), int(toks[1])
    return None


def check_pixels(w: int, h: int, what: str) -> None:
    """Raise InputError (rule image.too_large) when w*h exceeds the limit."""
    limit = max_pixels()
    if w * h > limit:
        raise InputError(
            f"{what} is {w}x{h} = {w * h / 1e6:.1f} megapixels, "
            f"more than the limit of {limit / 1e6:g} megapixels "
            "[image.too_large]",
            f"downscale the image, or raise the limit with {MAX_IMAGE_PIXELS_ENV}={w * h}",
        )


def check_header(b: bytes, what: str) -> None:
    size = header_size(b)
    if size is not None:
        check_pixels(size[0], size[1], what)
