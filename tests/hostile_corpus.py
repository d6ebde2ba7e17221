"""Hostile-input corpus for tests/test_hostile.py: big or odd files built cheaply.

Each file of issue #10 is made without ever holding its pixels: a JPEG's
entropy-coded data is one 4-byte MCU (all blocks flat grey) repeated; a TIFF's
strips all point at one deflated strip; a PNG's rows after the first use the
"Up" filter, so the deflate stream is zeros and compresses at memory speed.
So a 300-megapixel JPEG is 4.7 MB and takes milliseconds to write.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

# One 4:2:0 MCU with standard Huffman tables: 4 luma blocks (DC diff 0 "00", EOB "1010")
# and 2 chroma blocks (DC "00", EOB "00") = 32 bits.
_FLAT_MCU = b"\x28\xa2\x8a\x00"


def flat_jpeg(width: int, height: int, progressive: bool = False) -> bytes:
    """A valid baseline 4:2:0 JPEG of ``width`` x ``height`` (multiples of 16), flat grey (128)."""
    if width % 16 or height % 16:
        raise ValueError("width and height must be multiples of 16")
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (128, 128, 128)).save(buf, "JPEG", quality=50, subsampling=2)
    data = bytearray(buf.getvalue())
    pos = 2
    while True:  # walk marker segments to SOF0 and SOS
        marker, length = data[pos + 1], int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xC0:
            struct.pack_into(">HH", data, pos + 5, height, width)
            if progressive:  # header-only: a progressive frame marker, for tests that refuse on headers
                data[pos + 1] = 0xC2
        if marker == 0xDA:
            header = bytes(data[: pos + 2 + length])
            break
        pos += 2 + length
    return header + _FLAT_MCU * ((width // 16) * (height // 16)) + b"\xff\xd9"


def _textured_mcus(count: int) -> bytes:
    """Entropy-coded data of ``count`` (a multiple of 8) 4:2:0 MCUs whose 63 AC coefficients are all +1.

    Standard tables: luma and chroma DC category 0 ("00"), AC run/size 0/1 ("00" luma, "01"
    chroma) plus one magnitude bit, no EOB: 191 bits per block, 1146 per MCU, so 8 MCUs end on a
    byte boundary and repeat. About 0.56 bytes per pixel, like a high-quality photograph.
    """
    luma = "00" + "001" * 63
    chroma = "00" + "011" * 63
    bits = (luma * 4 + chroma * 2) * 8
    unit = int(bits, 2).to_bytes(len(bits) // 8, "big").replace(b"\xff", b"\xff\x00")
    return unit * (count // 8)


def dense_jpeg(width: int, height: int) -> bytes:
    """A valid baseline 4:2:0 JPEG of ``width`` x ``height`` (multiples of 16, MCU count a multiple
    of 8) with about 0.56 bytes per pixel of entropy-coded data: a 447 MP file is 250 MB."""
    flat = flat_jpeg(16, 16)
    header = flat[: flat.index(_FLAT_MCU + b"\xff\xd9")]
    sof = header.index(b"\xff\xc0")
    header = header[: sof + 5] + struct.pack(">HH", height, width) + header[sof + 9 :]
    mcus = (width // 16) * (height // 16)
    if mcus % 8:
        raise ValueError("the MCU count must be a multiple of 8")
    return header + _textured_mcus(mcus) + b"\xff\xd9"


def tiff_strips(width: int, height: int, dtype: str, rows_per_strip: int = 64) -> bytes:
    """A deflated single-band TIFF (``uint16`` or ``float32``) whose strips share one body.

    Each row is a horizontal gradient (0..65535 for uint16, 0..1 for float32).
    """
    kind = np.dtype(dtype)
    row = np.linspace(0, 65535 if kind.kind == "u" else 1.0, width).astype("<" + kind.str[1:])
    body = zlib.compress(np.tile(row, rows_per_strip).tobytes(), 6)
    n = -(-height // rows_per_strip)
    bits, fmt = kind.itemsize * 8, (3 if kind.kind == "f" else 1)
    entries = 10
    ifd_size = 2 + 12 * entries + 4
    offsets_at = 8 + ifd_size
    counts_at = offsets_at + 4 * n
    body_at = counts_at + 4 * n
    tags = [  # (tag, type, count, value) in ascending tag order; type 3 SHORT, 4 LONG
        (256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, bits), (259, 3, 1, 8), (262, 3, 1, 1),
        (273, 4, n, offsets_at), (277, 3, 1, 1), (278, 4, 1, rows_per_strip), (279, 4, n, counts_at),
        (339, 3, 1, fmt),
    ]
    out = bytearray(b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", entries))
    for tag, typ, count, value in tags:
        packed = struct.pack("<HI", value, 0)[:4] if typ == 3 and count == 1 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, typ, count) + packed
    out += struct.pack("<I", 0)
    out += struct.pack(f"<{n}I", *([body_at] * n)) + struct.pack(f"<{n}I", *([len(body)] * n))
    return bytes(out + body)


def png_rows(width: int, height: int, mode: str = "RGBA") -> bytes:
    """An 8-bit PNG (``L``, ``RGB`` or ``RGBA``) whose rows repeat one gradient row."""
    bands = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    colour = {"L": 0, "RGB": 2, "RGBA": 6}[mode]
    first = np.linspace(0, 255, width * bands).astype(np.uint8)
    if mode == "RGBA":
        first.reshape(width, 4)[:, :3] = 0  # black, alpha ramping 0..255 left to right
        first.reshape(width, 4)[:, 3] = np.linspace(0, 255, width).astype(np.uint8)
    comp = zlib.compressobj(1)
    idat = bytearray(comp.compress(b"\x00" + first.tobytes()))
    up = b"\x02" + bytes(width * bands)  # "Up" filter: same as the row above
    block = up * max(1, (1 << 22) // len(up))
    left = height - 1
    while left:
        take = min(left, len(block) // len(up))
        idat += comp.compress(block[: take * len(up)])
        left -= take
    idat += comp.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", bytes(idat)) + chunk(b"IEND", b"")


def good_jpeg(seed: int = 0, size: tuple[int, int] = (96, 64)) -> bytes:
    """A small noisy RGB JPEG: the good file in a hostile batch."""
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB").save(buf, "JPEG")
    return buf.getvalue()


def zip_of(members: dict[str, bytes]) -> bytes:
    """A deflated ZIP holding ``members`` (name -> bytes), names written as given."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def write_corpus(root: Path) -> dict[str, Path]:
    """Write every hostile file of issue #10 under ``root``; returns name -> path."""
    root.mkdir(parents=True, exist_ok=True)
    files = {
        "thin.png": png_rows(1, 100_000, "L"),  # 1x100,000: about 500 bytes
        "float32.tif": tiff_strips(6000, 6600, "float32"),
        "sixteen.tif": tiff_strips(6000, 6600, "uint16"),
        "rgba.png": png_rows(6324, 6324, "RGBA"),
        "jpeg48mp.jpg": flat_jpeg(6000, 8000),
        "jpeg300mp.jpg": flat_jpeg(20000, 15008),
        "progressive300mp.jpg": flat_jpeg(20000, 15008, progressive=True),
        "good.jpg": good_jpeg(),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = root / name
        paths[name].write_bytes(data)
    return paths


def lying_zip(method: int, unpacked: int, declared: int = 1000, name: str = "bomb.png") -> bytes:
    """A ZIP whose one member (``unpacked`` zero bytes, compressed with ``method``) declares ``declared``
    bytes in both its local header and its central directory entry: the ratio check then sees 1:1-ish
    numbers while the data inflates to ``unpacked``. bzip2 packs 100 MB of zeros into ~100 bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        with zf.open(name, "w", force_zip64=False) as fh:
            block = bytes(1 << 20)
            for _ in range(unpacked >> 20):
                fh.write(block)
            fh.write(bytes(unpacked & ((1 << 20) - 1)))
    data = bytearray(buf.getvalue())
    local = data.index(b"PK\x03\x04")
    struct.pack_into("<I", data, local + 22, declared)
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, declared)
    return bytes(data)


# ----------------------------------------------------------------------------- issue 25: parser floods


def jpeg_flood(segments: int, marker: int = 0xFE, seed: int = 1) -> bytes:
    """A small valid JPEG with ``segments`` empty APPn or COM segments (4 bytes each) after SOI."""
    good = good_jpeg(seed)
    return good[:2] + bytes((0xFF, marker, 0, 2)) * segments + good[2:]


def progressive_scans(side: int, scans: int, flat: bool = False) -> bytes:
    """A grey progressive JPEG of ``side`` x ``side`` (noise, or ``flat`` grey: a tiny file) whose last
    (refinement) scan is repeated until it has ``scans`` scans; libjpeg warns and decodes every one,
    at full-image cost each."""
    rng = np.random.default_rng(3)
    buf = io.BytesIO()
    im = Image.new("L", (side, side), 128) if flat else Image.fromarray(
        rng.integers(0, 256, (side, side), dtype=np.uint8), "L")
    im.save(buf, "JPEG", progressive=True, quality=90)
    data = buf.getvalue()
    last = data.rindex(b"\xff\xda")
    body = data[last:-2]  # SOS of the last scan and its entropy-coded data, without EOI
    have = data.count(b"\xff\xda")
    return data[:-2] + body * max(0, scans - have) + b"\xff\xd9"


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_flood(chunks: int, kind: bytes = b"prIv") -> bytes:
    """A small valid PNG with ``chunks`` empty private (or, with ``kind=b"IDAT"``, empty data) chunks."""
    buf = io.BytesIO()
    Image.new("RGB", (48, 32), (200, 30, 30)).save(buf, "PNG")
    data = buf.getvalue()
    flood = _png_chunk(kind, b"") * chunks
    at = data.index(b"IDAT") - 4 if kind != b"IDAT" else data.index(b"IEND") - 4
    return data[:at] + flood + data[at:]


def tiff_offset_flood(entries: int) -> bytes:
    """A valid 64x64 grey TIFF whose strip offset and size tables list ``entries`` strips (all the same)."""
    width = height = 64
    body = zlib.compress(bytes(range(64)) * 64)
    offsets_at = 8 + 2 + 12 * 9 + 4
    counts_at = offsets_at + 4 * entries
    body_at = counts_at + 4 * entries
    tags = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 8), (262, 3, 1, 1),
            (273, 4, entries, offsets_at), (277, 3, 1, 1), (278, 4, 1, 1), (279, 4, entries, counts_at)]
    out = bytearray(b"II*\x00" + struct.pack("<IH", 8, len(tags)))
    for tag, typ, count, value in tags:
        packed = struct.pack("<HH", value, 0) if typ == 3 and count == 1 else struct.pack("<I", value)
        out += struct.pack("<HHI", tag, typ, count) + packed
    out += struct.pack("<I", 0)
    out += struct.pack("<I", body_at) * entries + struct.pack("<I", len(body)) * entries
    return bytes(out + body)


def gif_flood(blocks: int) -> bytes:
    """A small valid GIF with ``blocks`` comment extensions (one byte each) before its first frame."""
    buf = io.BytesIO()
    Image.new("P", (40, 30), 5).save(buf, "GIF")
    data = buf.getvalue()
    at = data.index(b"\x2c")  # the first image descriptor
    return data[:at] + b"\x21\xfe\x01x\x00" * blocks + data[at:]


def webp_canvas(width: int, height: int) -> bytes:
    """A ~140-byte animated WebP (two 16x16 frames) whose VP8X canvas declares ``width`` x ``height``."""
    buf = io.BytesIO()
    frames = [Image.new("RGBA", (16, 16), (i * 60, 90, 0, 255)) for i in range(2)]
    frames[0].save(buf, "WEBP", save_all=True, append_images=frames[1:], lossless=True)
    data = bytearray(buf.getvalue())
    at = data.index(b"VP8X") + 12
    data[at : at + 3] = (width - 1).to_bytes(3, "little")
    data[at + 3 : at + 6] = (height - 1).to_bytes(3, "little")
    return bytes(data)


def bigtiff_pyramid(width: int, height: int, levels: int, strip_rows: int = 16) -> bytes:
    """A BigTIFF of ``levels`` pages, each half the last (NewSubfileType 1 after the first): grey
    deflated strips sharing one body per level, level ``k`` filled with the value ``40 * (k + 1)``.

    No level's pixels are held: a 300-megapixel first level is a few MB.
    """
    sizes = [(max(1, width >> k), max(1, height >> k)) for k in range(levels)]
    out = bytearray(b"II+\x00" + struct.pack("<HHQ", 8, 0, 16))
    for k, (w, h) in enumerate(sizes):
        rows = max(1, min(strip_rows, h // 3))  # >= 3 strips: the tables never fit in the entry itself
        body = zlib.compress(bytes([40 * (k + 1) % 256]) * (w * rows), 9)
        n = -(-h // rows)
        entries = 11
        ifd_at = len(out)
        offsets_at = ifd_at + 8 + 20 * entries + 8
        counts_at = offsets_at + 8 * n
        body_at = counts_at + 4 * n
        tags = [(254, 4, 1, 1 if k else 0), (256, 4, 1, w), (257, 4, 1, h), (258, 3, 1, 8), (259, 3, 1, 8),
                (262, 3, 1, 1), (273, 16, n, offsets_at), (277, 3, 1, 1), (278, 4, 1, rows),
                (279, 4, n, counts_at), (284, 3, 1, 1)]
        out += struct.pack("<Q", entries)
        for tag, typ, count, value in tags:
            out += struct.pack("<HHQQ", tag, typ, count, value)
        next_at = body_at + len(body)
        out += struct.pack("<Q", next_at if k + 1 < levels else 0)
        out += struct.pack("<Q", body_at) * n + struct.pack("<I", len(body)) * n + body
    return bytes(out)
