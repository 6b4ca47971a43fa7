"""The synthetic dark set: exact boxes, DARK FACE-like faces and darkness, determinism, cache, `demo-data`."""
import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from facebench import lowlight
from facebench.commands.demo_data_cmd import demo_data_cmd
from facebench.datasets import SyntheticConfig, load_dataset, read_image, synthetic_dataset, write_synthetic
from facebench.datasets import synthetic

SMALL = SyntheticConfig(count=4, width=160, height=120, max_face=40, seed=3)


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_generation_is_byte_identical_and_seeded(tmp_path):
    write_synthetic(tmp_path / "a", SMALL)
    write_synthetic(tmp_path / "b", SMALL)
    first = _files(tmp_path / "a")
    assert set(first) == {"README.txt", *(f"image/{i}.png" for i in range(1, 5)),
                          *(f"label/{i}.txt" for i in range(1, 5))}
    assert first == _files(tmp_path / "b")
    write_synthetic(tmp_path / "c", SyntheticConfig(count=4, width=160, height=120, max_face=40, seed=4))
    assert _files(tmp_path / "c")["image/1.png"] != first["image/1.png"]
    # image i depends on (seed, i) only, not on the count
    write_synthetic(tmp_path / "d", SyntheticConfig(count=2, width=160, height=120, max_face=40, seed=3))
    assert _files(tmp_path / "d")["image/2.png"] == first["image/2.png"]
    with pytest.raises(FileExistsError, match="is not empty"):
        write_synthetic(tmp_path / "a", SMALL)


def test_boxes_are_exactly_the_pasted_faces():
    config = SyntheticConfig(width=200, height=150, max_face=48, min_face=4)
    for index in range(6):
        rng = np.random.default_rng([index, 99])
        scene = synthetic._scene(rng, config.width, config.height)
        before = scene.copy()
        boxes = np.array(synthetic._paste_faces(scene, rng, 12, config)).reshape(-1, 4)
        changed = np.any(scene != before, axis=2)
        inside = np.zeros_like(changed)
        for x1, y1, x2, y2 in boxes:
            inside[y1:y2, x1:x2] = True
            face = changed[y1:y2, x1:x2]
            # every edge row/column of the box holds pasted pixels: the box is the face's extent
            assert face[0].any() and face[-1].any() and face[:, 0].any() and face[:, -1].any()
            w, h = x2 - x1, y2 - y1
            assert config.min_face - 1 <= np.sqrt(w * h) <= config.max_face + 1
            assert 0.7 - 1 / w <= h / w <= 1.81 + 1 / w  # DARK FACE's 5th..95th percentile of h / w
        assert not (changed & ~inside).any()
        assert inside.sum() == ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).sum()  # no overlap


def test_images_are_dark_like_darkface_with_the_lowlight_model(monkeypatch):
    calls = []
    real = lowlight.darken
    monkeypatch.setattr(lowlight, "darken", lambda *a: calls.append(a[1]) or real(*a))
    config = SyntheticConfig(count=6)
    images = [synthetic.generate_image(config, i) for i in range(config.count)]
    assert len(calls) == config.count and all(0 < m.exposure <= 1 for m in calls)
    assert all(m.full_well == lowlight.DARKFACE_SENSOR["full_well"] for m in calls)
    means = [image.dark.mean() / 255 for image in images]
    assert all(0.015 < m < 0.07 for m in means), means  # DARK FACE frames: 0.021..0.054
    for image in images:
        assert image.dark.shape == (480, 640, 3) and image.dark.dtype == np.uint8
        gray = image.dark.mean(axis=2)
        assert np.median(gray) < 12, "most of a night frame is near black"
        assert 0.0002 < (gray > 200).mean() < 0.02, "a few saturated lamps, as in DARK FACE"
        ycc = cv2.cvtColor(image.dark, cv2.COLOR_RGB2YCrCb).astype(np.float64)
        luma_noise, chroma_noise = (np.abs(c - cv2.blur(c, (3, 3))).mean() for c in (ycc[:, :, 0], ycc[:, :, 1]))
        assert chroma_noise < 0.5 * luma_noise, "colour noise reduced as in DARK FACE (a third of the luma noise)"
        assert np.all(image.boxes >= 0) and np.all(image.boxes[:, 2] <= 640) and np.all(image.boxes[:, 3] <= 480)


def test_embedded_set_faces_match_darkface_statistics():
    config = SyntheticConfig()
    boxes = [synthetic.generate_image(config, i).boxes for i in range(config.count)]
    sizes = np.sqrt(np.concatenate([(b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) for b in boxes]))
    assert 10 <= np.median(sizes) <= 14, f"median face size {np.median(sizes):.1f} px; DARK FACE: 11.5"
    assert (sizes < 8).mean() > 0.15 and (sizes > 32).mean() < 0.15  # DARK FACE: 32% below 8 px, 7% above 32
    counts = np.array([len(b) for b in boxes])
    assert counts.min() >= 1 and 4 <= counts.mean() <= 11  # DARK FACE: every image has faces, 7.3 on average
    centres = np.concatenate([(b[:, 1] + b[:, 3]) / 2 for b in boxes]) / config.height
    assert 0.45 <= np.median(centres) <= 0.7  # DARK FACE: 0.57


def test_face_counts_follow_the_config():
    config = SyntheticConfig(count=30, width=200, height=150, empty_fraction=0.3, max_faces=5)
    counts = np.array([len(synthetic.generate_image(config, i).boxes) for i in range(config.count)])
    assert counts.max() <= 5 and (counts == 0).sum() >= 3 and (counts >= 3).sum() >= 5
    with pytest.raises(ValueError, match="min_face"):
        SyntheticConfig(min_face=0.5)


def test_cache_key_changes_with_the_generator_version(monkeypatch):
    from facebench.datasets.synthetic_store import cache_key

    key = cache_key(SyntheticConfig())
    monkeypatch.setattr(synthetic, "GENERATOR_VERSION", synthetic.GENERATOR_VERSION + 1)
    assert cache_key(SyntheticConfig()) != key


def test_cache_and_load_dataset_none(tmp_path, monkeypatch):
    small = synthetic_dataset(SMALL, cache_root=tmp_path / "cache")
    assert small.synthetic and small.format == "synthetic" and "SYNTHETIC" in small.name
    assert [s.image_id for s in small] == ["1", "2", "3", "4"]
    stamp = (small.root / "image" / "1.png").stat().st_mtime_ns
    assert synthetic_dataset(SMALL, cache_root=tmp_path / "cache").content_hash() == small.content_hash()
    assert (small.root / "image" / "1.png").stat().st_mtime_ns == stamp  # reused, not regenerated
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [small.root.name]  # no temporary left

    monkeypatch.setenv("FACEBENCH_HOME", str(tmp_path / "home"))
    data = load_dataset(None, limit=12)
    assert data.synthetic and "SYNTHETIC" in data.name and len(data) == 12
    assert data.root.parent == tmp_path / "home" / "synthetic"
    assert read_image(data[0].image_path).shape == (480, 640, 3)
    assert [s.image_id for s in load_dataset(None, ids=["24", "3"])] == ["3", "24"]
    assert "SYNTHETIC DATA" in (data.root / "README.txt").read_text()


def test_demo_data_command(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(demo_data_cmd, [str(out), "--count", "2", "--seed", "5", "--width", "160",
                                                "--height", "120"])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output
    readme = (out / "README.txt").read_text()
    assert readme.startswith("SYNTHETIC DATA") and "seed 5" in readme and "lfw_subset" in readme
    data = load_dataset(out)
    assert (data.format, data.name, data.synthetic, len(data)) == ("darkface", "demo (SYNTHETIC)", True, 2)
    again = CliRunner().invoke(demo_data_cmd, [str(out)])
    assert again.exit_code == 1 and "is not empty" in again.output
