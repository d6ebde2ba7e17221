"""artsim.inputs.images: safe decoding of untrusted files, every bad-input kind made synthetically."""

from __future__ import annotations

import gc
import hashlib
import io
import os
import struct
import threading
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile, JpegImagePlugin

from artsim.errors import ImageError
from artsim.inputs import formats
from artsim.inputs.formats import SVG_REASON
from artsim.inputs.images import (
    IMAGE_SUFFIXES,
    load_image,
    sha256_bytes,
    sha256_file,
    thumbnail_jpeg,
)

RED = (255, 0, 0)
BLUE = (0, 0, 255)


def png_declaring(width: int, height: int, depth: int = 1, colour: int = 0) -> bytes:
    """A tiny PNG whose IHDR claims width x height (and bit depth, colour type); data unchanged."""
    buf = io.BytesIO()
    Image.new("1", (8, 8)).save(buf, "PNG")
    data = buf.getvalue()
    # signature(8) | length(4) 'IHDR' width(4) height(4) depth,colour,comp,filter,interlace(5) | crc(4)
    body = b"IHDR" + struct.pack(">IIBB", width, height, depth, colour) + data[26:29]
    return data[:8] + struct.pack(">I", 13) + body + struct.pack(">I", zlib.crc32(body)) + data[33:]


def reason(source, **kw) -> str:
    with pytest.raises(ImageError) as info:
        load_image(source, **kw)
    return info.value.reason


def pixel(im: Image.Image, xy: tuple[int, int]) -> np.ndarray:
    return np.asarray(im, dtype=int)[xy[1], xy[0]]


# ---------------------------------------------------------------- good files


@pytest.mark.parametrize(
    "suffix, kwargs, lossless",
    [
        (".png", {}, True),
        (".bmp", {}, True),
        (".tif", {}, True),
        (".gif", {}, True),
        (".webp", {"lossless": True}, True),
        (".webp", {"quality": 90}, False),
        (".jpg", {"quality": 95}, False),
    ],
)
def test_formats_load_as_rgb(make_image, suffix, kwargs, lossless):
    path = make_image(f"a{suffix}", size=(40, 30), color=(200, 40, 90), **kwargs)
    im = load_image(path)
    assert im.mode == "RGB" and im.size == (40, 30)
    arr = np.asarray(im, dtype=int)
    tol = 0 if lossless else 6
    assert np.abs(arr - [200, 40, 90]).max() <= tol


def test_all_suffixes_in_scan_set_are_lowercase_and_loadable(make_image):
    assert all(s == s.lower() and s.startswith(".") for s in IMAGE_SUFFIXES)
    for suffix in sorted(IMAGE_SUFFIXES):
        path = make_image(f"x{suffix}", size=(10, 10), color=(10, 20, 30))
        assert load_image(path).size == (10, 10)


def test_bytes_and_path_give_the_same_pixels(make_image):
    path = make_image("n.png", size=(20, 10))
    assert np.array_equal(np.asarray(load_image(path)), np.asarray(load_image(path.read_bytes())))


def test_exif_orientation_is_applied(tmp_path):
    # Stored 60 wide x 40 high: left half red, right half blue. Orientation 6 means
    # "rotate 90 degrees clockwise to display": the left edge becomes the top.
    im = Image.new("RGB", (60, 40), BLUE)
    im.paste(RED, (0, 0, 30, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "rotated.jpg"
    im.save(path, quality=95, exif=exif)

    out = load_image(path)
    assert out.size == (40, 60)
    assert np.abs(pixel(out, (20, 10)) - RED).max() < 30  # top half red
    assert np.abs(pixel(out, (20, 50)) - BLUE).max() < 30  # bottom half blue


def test_cmyk_jpeg(make_image):
    # C=0, M=255, Y=255, K=0 is red in naive CMYK.
    path = make_image("cmyk.jpg", size=(24, 24), mode="CMYK", color=(0, 255, 255, 0), quality=95)
    assert Image.open(path).mode == "CMYK"
    out = load_image(path)
    assert out.mode == "RGB"
    assert np.abs(np.asarray(out, dtype=int) - RED).max() <= 3


def test_16bit_png_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257, 32768, 65535]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode.startswith("I;16")
    out = np.asarray(load_image(path))
    # round(v * 255 / 65535): mid-grey stays mid-grey (clipping would give 255)
    assert out[0, :, 0].tolist() == [0, 1, 128, 255]
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()


def test_16bit_big_endian_tiff(tmp_path):
    values = np.array([[1000, 32768, 60000]], dtype=">u2")
    path = tmp_path / "deep.tif"
    Image.frombytes("I;16B", (3, 1), values.tobytes()).save(path)
    out = np.asarray(load_image(path))[0, :, 0]
    assert out.tolist() == [round(v * 255 / 65535) for v in (1000, 32768, 60000)]


def test_float_tiff_in_unit_range(tmp_path):
    path = tmp_path / "float.tif"
    Image.fromarray(np.array([[0.0, 0.5, 1.0]], dtype=np.float32), mode="F").save(path)
    assert np.asarray(load_image(path))[0, :, 0].tolist() == [0, 128, 255]


def test_grayscale_and_gray_alpha(make_image):
    out = load_image(make_image("g.png", mode="L", color=77))
    assert np.asarray(out).reshape(-1, 3).tolist()[0] == [77, 77, 77]

    la = Image.new("LA", (20, 10), (40, 255))
    la.paste((40, 0), (10, 0, 20, 10))  # right half fully transparent
    out = load_image(_encode(la, "PNG"))
    assert pixel(out, (2, 5)).tolist() == [40, 40, 40]
    assert pixel(out, (15, 5)).tolist() == [255, 255, 255]


def test_rgba_is_composited_on_white(image_bytes):
    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 128))
    out = load_image(image_bytes(rgba, "PNG"))
    # 0 * 128/255 + 255 * 127/255 = 127
    assert np.abs(np.asarray(out, dtype=int) - 127).max() <= 1


def test_palette_with_transparency():
    im = Image.new("P", (10, 10), 0)
    im.putpalette([0, 0, 0, 0, 200, 0] + [0] * (256 * 3 - 6))
    im.paste(1, (5, 0, 10, 10))  # right half palette index 1 (green); left index 0 transparent
    out = load_image(_encode(im, "PNG", transparency=0))
    assert pixel(out, (2, 2)).tolist() == [255, 255, 255]
    assert pixel(out, (7, 2)).tolist() == [0, 200, 0]


def test_rgb_png_with_colour_key_transparency():
    im = Image.new("RGB", (4, 4), (10, 20, 30))
    im.putpixel((0, 0), (1, 2, 3))
    out = load_image(_encode(im, "PNG", transparency=(1, 2, 3)))
    assert pixel(out, (0, 0)).tolist() == [255, 255, 255]
    assert pixel(out, (1, 1)).tolist() == [10, 20, 30]


def test_animated_gif_first_frame():
    frames = [Image.new("RGB", (16, 16), c) for c in (RED, (0, 255, 0), BLUE)]
    data = _encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 3
    out = load_image(data)
    assert out.size == (16, 16)
    assert np.asarray(out).reshape(-1, 3).tolist()[0] == list(RED)


def test_multipage_tiff_first_page():
    first = Image.new("RGB", (20, 10), RED)
    second = Image.new("RGB", (50, 50), BLUE)
    data = _encode(first, "TIFF", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(data)).n_frames == 2
    out = load_image(data)
    assert out.size == (20, 10)
    assert np.asarray(out).reshape(-1, 3).tolist()[0] == list(RED)


def test_mpo_is_read_as_jpeg():
    left, right = Image.new("RGB", (32, 24), RED), Image.new("RGB", (32, 24), BLUE)
    data = _encode(left, "MPO", save_all=True, append_images=[right], quality=95)
    assert Image.open(io.BytesIO(data)).format == "MPO"
    assert np.abs(np.asarray(load_image(data), dtype=int) - RED).max() <= 3


@pytest.mark.parametrize(("fmt", "frames"), [("JPEG", 1), ("PNG", 1), ("GIF", 2), ("TIFF", 2), ("MPO", 2)])
def test_the_result_outlives_its_file(tmp_path, fmt, frames):
    """A decoded single frame is returned without a copy; a multi-frame file's frame is copied off it.
    Either way the image works once the file is gone and after its source object is collected."""
    pictures = [Image.new("RGB", (40, 30), RED), Image.new("RGB", (40, 30), BLUE)][:frames]
    path = tmp_path / f"x.{fmt.lower()}"
    extra = {"save_all": True, "append_images": pictures[1:]} if frames > 1 else {}
    pictures[0].save(path, fmt, **extra)
    out = load_image(str(path), max_side=4096)
    assert getattr(out, "fp", None) is None  # holds nothing of the file
    assert isinstance(out, ImageFile.ImageFile) == (frames == 1)  # a single frame: no copy made
    path.unlink()
    gc.collect()
    assert out.size == (40, 30) and out.mode == "RGB"
    assert np.abs(np.asarray(out.resize((20, 15)), dtype=int) - RED).max() <= 3
    assert len(thumbnail_jpeg(out, 16)) > 0


# ---------------------------------------------------------------- size reduction


def _gradient(width: int, height: int) -> Image.Image:
    x = np.linspace(0, 255, width)[None, :]
    y = np.linspace(0, 255, height)[:, None]
    arr = np.stack([x + 0 * y, y + 0 * x, (x + y) / 2], axis=-1).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def _decoded_sizes(monkeypatch) -> list[tuple[int, int]]:
    """Spy (not a stub) on Pillow's JPEG decoder: the sizes it actually decodes at, as they happen."""
    decoded: list[tuple[int, int]] = []
    original_load = JpegImagePlugin.JpegImageFile.load

    def spy_load(self):
        decoded.append(self.size)
        return original_load(self)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "load", spy_load)
    return decoded


def test_large_jpeg_uses_draft_and_reduces_to_max_side(monkeypatch):
    big = _gradient(4000, 3000)
    data = _encode(big, "JPEG", quality=90)

    decoded = _decoded_sizes(monkeypatch)
    out = load_image(data)
    # libjpeg decodes at 1/4 scale (still >= 512 on both sides), not at 4000x3000.
    assert decoded and set(decoded) == {(1000, 750)}
    assert out.size == (683, 512)
    # Matches a full-resolution decode resized the slow way, within JPEG noise.
    reference = np.asarray(big.resize((683, 512), Image.Resampling.LANCZOS), dtype=int)
    assert np.abs(np.asarray(out, dtype=int) - reference).mean() < 2.0


def test_draft_side_below_max_side_decides_the_scale(monkeypatch):
    # The embedders' fast path: draft to 2x the model's side (448), keep 8x (1792) only as a cap.
    data = _encode(_gradient(4000, 3000), "JPEG", quality=90)
    decoded = _decoded_sizes(monkeypatch)
    out = load_image(data, max_side=1792, draft_side=448)
    assert set(decoded) == {(1000, 750)}  # 1/4 scale: both sides >= 448; 1/8 (500x375) would not be
    assert out.size == (1000, 750)  # under the cap: no second resample


def test_portrait_reduction_and_custom_max_side():
    out = load_image(_encode(_gradient(300, 900), "PNG"), max_side=100)
    assert out.size == (100, 300)


def test_never_upscales(make_image):
    assert load_image(make_image("small.jpg", size=(100, 80)), max_side=512).size == (100, 80)


def test_max_side_must_be_positive(make_image):
    with pytest.raises(ValueError):
        load_image(make_image("a.png"), max_side=0)


# ---------------------------------------------------------------- bad files


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageError) as info:
        load_image(path)
    assert info.value.reason == "file is empty"
    assert info.value.name == str(path) and str(path) in str(info.value)
    assert reason(b"") == "file is empty"


def test_missing_file(tmp_path):
    assert reason(tmp_path / "nope.png") == "file not found"


def test_text_renamed_jpg(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("these are my notes, not a picture\n" * 10)
    assert reason(path) == "not an image file"


@pytest.mark.parametrize(
    "text",
    [
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>',
        '<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>',
        '\ufeff  <!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN">\n<svg></svg>',
    ],
)
def test_svg_is_refused_by_content(tmp_path, text):
    path = tmp_path / "drawing.png"  # wrong suffix on purpose: sniffed from the text
    path.write_text(text, encoding="utf-8")
    assert reason(path) == SVG_REASON


def test_html_error_page_and_pdf():
    assert "web page" in reason(b"<!DOCTYPE html><html><body>404 Not Found</body></html>")
    assert "PDF" in reason(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n")


def test_formats_outside_the_allowed_set_are_refused():
    ico = _encode(Image.new("RGB", (16, 16), RED), "ICO")
    assert "ICO" in reason(ico)
    ppm = _encode(Image.new("RGB", (16, 16), RED), "PPM")  # Pillow can read it; we don't try
    assert reason(ppm) == "not an image file"


@pytest.mark.parametrize("fmt, cut", [("JPEG", 0.5), ("JPEG", 0.9), ("PNG", 0.6)])
def test_truncated_files_are_refused(fmt, cut):
    data = _encode(_noise(200, 150), fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    assert reason(data[: int(len(data) * cut)]) == "truncated or corrupt image data"
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_corrupt_jpeg_body():
    data = bytearray(_encode(_noise(64, 64), "JPEG", quality=90))
    data[200:400] = b"\xff" * 200
    with pytest.raises(ImageError):
        load_image(bytes(data))


@pytest.mark.parametrize("size", [(20000, 20000), (10000, 10000)])
def test_decompression_bomb_refused_from_header(size):
    # 400 MP (Pillow's own error), 100 MP (Pillow only warns): refused by pixel count.
    before = Image.MAX_IMAGE_PIXELS
    data = png_declaring(*size)
    assert len(data) < 200
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        why = reason(data)
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]
    assert why.startswith(f"image is {size[0] * size[1] // 10**6} megapixels; the limit is 89.5 megapixels")
    assert Image.MAX_IMAGE_PIXELS == before


@pytest.mark.parametrize(
    "depth, colour, mode, cost",
    [(8, 6, "RGBA", "244.1 MB"), (16, 0, "I;16", ""), (8, 2, "RGB", "244.1 MB"), (16, 6, "RGBA", "244.1 MB")],
)
def test_decode_bytes_budget_counts_bytes_per_pixel(depth, colour, mode, cost):
    # 8000x8000 = 64 MP is under the pixel cap; what decides is the bytes of the decoded mode.
    data = png_declaring(8000, 8000, depth, colour)
    if mode == "I;16":  # 2 bytes per pixel: 122 MB fits the 192 MB budget (the data is fake: corrupt)
        assert reason(data) == "truncated or corrupt image data"
        return
    assert reason(data).startswith(f"image of 8000x8000 pixels in mode {mode} needs {cost} to decode")


def test_just_under_the_pixel_cap_is_not_called_a_bomb():
    # 9000x9000 = 81 MP of 1-bit pixels declared, no pixel data: refused as corrupt, not as too large.
    assert reason(png_declaring(9000, 9000)) == "truncated or corrupt image data"


def test_file_over_size_limit_is_refused_without_reading(tmp_path):
    path = tmp_path / "huge.jpg"
    with open(path, "wb") as fh:  # sparse: costs no disk and no read
        fh.truncate(260 * 1024 * 1024)
    assert reason(path) == "file is 260 MB; the limit is 250 MB"
    with open(path, "wb") as fh:
        fh.truncate(250 * 1024 * 1024 + 1)
    assert reason(path) == "file is over the limit of 250 MB"


def test_size_words():
    assert formats.size_problem(0, 10) == "file is empty"
    assert formats.size_problem(10, 10) is None
    assert formats.size_problem(3 * 2**20, 2**20) == "file is 3 MB; the limit is 1 MB"
    assert formats.size_problem(2**20 + 1, 2**20) == "file is over the limit of 1 MB"
    assert formats.size_problem(2048, 1000) == "file is 2 KB; the limit is 1000 bytes"
    assert reason(b"") == "file is empty"


def test_folder_is_not_an_image(tmp_path):
    assert reason(tmp_path) == "not a regular file"


def test_error_names(make_image):
    path = make_image("n.txt", fmt="PNG")
    path.write_bytes(b"plain text")
    with pytest.raises(ImageError) as info:
        load_image(path, name="holiday.jpg")
    assert info.value.name == "holiday.jpg" and str(info.value) == "holiday.jpg: not an image file"
    with pytest.raises(ImageError) as info:
        load_image(b"plain text")
    assert info.value.name == "uploaded image"


def test_concurrent_loads_leave_warning_filters_alone(make_image):
    good = make_image("good.png", size=(30, 20))
    bomb = png_declaring(12000, 12000)
    filters_before = list(warnings.filters)
    results: list[object] = []

    def work() -> None:
        for _ in range(20):
            for src in (good, bomb):
                try:
                    results.append(load_image(src).size)
                except ImageError as exc:
                    results.append(exc.reason)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count((30, 20)) == 80
    assert sum(isinstance(r, str) and "megapixels" in r for r in results) == 80
    assert warnings.filters == filters_before


# ---------------------------------------------------------------- hashes and thumbnails


def test_sha256_file_streams_over_chunks(tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 17)  # several 1 MiB chunks plus a tail
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest() == sha256_bytes(data)
    assert sha256_file(str(path)) == sha256_bytes(data)
    assert sha256_bytes(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_thumbnail_jpeg():
    data = thumbnail_jpeg(_gradient(800, 400))
    thumb = Image.open(io.BytesIO(data))
    assert thumb.format == "JPEG" and thumb.size == (160, 80)
    assert thumbnail_jpeg(_gradient(800, 400), size=64, quality=50) != data

    small = Image.open(io.BytesIO(thumbnail_jpeg(Image.new("RGB", (40, 30), RED))))
    assert small.size == (40, 30)  # never enlarged

    rgba = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
    flat = Image.open(io.BytesIO(thumbnail_jpeg(rgba)))
    assert flat.mode == "RGB" and np.asarray(flat).min() >= 250  # transparent -> white


def test_thumbnail_does_not_modify_input():
    im = _gradient(400, 300)
    before = np.asarray(im).copy()
    thumbnail_jpeg(im, size=50)
    assert im.size == (400, 300) and np.array_equal(np.asarray(im), before)


# ---------------------------------------------------------------- helpers


def _encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def _noise(width: int, height: int) -> Image.Image:
    rng = np.random.default_rng(7)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), "RGB")
