"""read_image: every input kind becomes uint8 RGB [H, W, 3]; unreadable files give one line naming them."""
import cv2
import numpy as np
import pytest
from PIL import Image

from facebench.datasets import DatasetError, read_image

RGB = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255]],
                [[10, 20, 30], [200, 100, 50], [0, 0, 0]]], dtype=np.uint8)  # [2, 3, 3]


def _check(image: np.ndarray, expected: np.ndarray) -> None:
    assert image.dtype == np.uint8 and image.shape == expected.shape
    np.testing.assert_array_equal(image, expected)


def test_rgb_png_and_bmp_keep_channel_order(tmp_path):
    Image.fromarray(RGB).save(tmp_path / "a.png")
    Image.fromarray(RGB).save(tmp_path / "a.bmp")
    _check(read_image(tmp_path / "a.png"), RGB)
    _check(read_image(str(tmp_path / "a.bmp")), RGB)


def test_grayscale_and_gray_alpha(tmp_path):
    gray = RGB[:, :, 1]
    Image.fromarray(gray).save(tmp_path / "g.png")
    Image.fromarray(gray).convert("LA").save(tmp_path / "la.png")
    expected = np.repeat(gray[:, :, None], 3, axis=2)
    _check(read_image(tmp_path / "g.png"), expected)
    _check(read_image(tmp_path / "la.png"), expected)


def test_rgba_drops_alpha_and_palette_expands(tmp_path):
    rgba = np.dstack([RGB, np.full(RGB.shape[:2], 7, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    _check(read_image(tmp_path / "rgba.png"), RGB)
    Image.fromarray(RGB).convert("P", palette=Image.Palette.ADAPTIVE, colors=8).save(tmp_path / "p.png")
    assert Image.open(tmp_path / "p.png").mode == "P"
    _check(read_image(tmp_path / "p.png"), RGB)


def test_16_bit_is_scaled_to_8_bit(tmp_path):
    rgb16 = RGB.astype(np.uint16) * 257
    rgb16[0, 0, 0] = 65535 - 100  # rounds to 255
    cv2.imwrite(str(tmp_path / "c16.png"), rgb16[:, :, ::-1])
    _check(read_image(tmp_path / "c16.png"), RGB)
    gray16 = RGB[:, :, 2].astype(np.uint16) * 257
    gray16[0, 0] += 100  # 100 / 257 rounds down to 0
    Image.fromarray(gray16).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I;16")
    _check(read_image(tmp_path / "g16.png"), np.repeat(RGB[:, :, 2:3], 3, axis=2))


def test_unreadable_files(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG garbage")
    (tmp_path / "empty.jpg").write_bytes(b"")
    for name in ("bad.png", "empty.jpg"):
        with pytest.raises(DatasetError, match=f"^{tmp_path / name}: cannot decode image; expected"):
            read_image(tmp_path / name)
    with pytest.raises(DatasetError, match=f"^{tmp_path / 'none.png'}: cannot read image"):
        read_image(tmp_path / "none.png")
