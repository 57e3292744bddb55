"""Real, tiny files that declare huge images: a 20000x20000 PNG (389 KB) made in milliseconds."""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def zero_png(width: int, height: int) -> bytes:
    """A valid 8-bit grayscale PNG of zeros. The deflate stream is one full-flushed block of 100 rows repeated
    (blocks after a full flush are independent), so nothing of width*height bytes is ever built."""
    row = width + 1  # filter byte + pixels
    rows_per_block = 100 if height % 100 == 0 else 1
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = co.compress(bytes(row * rows_per_block)) + co.flush(zlib.Z_FULL_FLUSH)
    n = row * height
    adler = ((n % 65521) << 16) | 1  # adler32 of n zero bytes
    idat = b"\x78\xda" + block * (height // rows_per_block) + b"\x03\x00" + struct.pack(">I", adler)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
