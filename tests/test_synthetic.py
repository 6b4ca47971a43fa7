"""The synthetic dark set: exact boxes, face sizes, darkness, determinism, cache, `facebench demo-data`."""
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
    assert set(first) == {"README.txt", *(f"image/{i}.png" for i in range(1, 5)), *(f"label/{i}.txt" for i in range(1, 5))}
    assert first == _files(tmp_path / "b")
    write_synthetic(tmp_path / "c", SyntheticConfig(count=4, width=160, height=120, max_face=40, seed=4))
    assert _files(tmp_path / "c")["image/1.png"] != first["image/1.png"]
    # image i depends on (seed, i) only, not on the count
    write_synthetic(tmp_path / "d", SyntheticConfig(count=2, width=160, height=120, max_face=40, seed=3))
    assert _files(tmp_path / "d")["image/2.png"] == first["image/2.png"]
    with pytest.raises(FileExistsError, match="is not empty"):
        write_synthetic(tmp_path / "a", SMALL)


def test_boxes_are_exactly_the_pasted_faces():
    config = SyntheticConfig(width=200, height=150, max_face=48, min_face=8)
    for index in range(6):
        rng = np.random.default_rng([index, 99])
        scene = synthetic._scene(rng, config.width, config.height)
        before = scene.copy()
        boxes = np.array(synthetic._paste_faces(scene, rng, 8, config)).reshape(-1, 4)
        changed = np.any(scene != before, axis=2)
        inside = np.zeros_like(changed)
        for x1, y1, x2, y2 in boxes:
            inside[y1:y2, x1:x2] = True
            face = changed[y1:y2, x1:x2]
            # every edge row/column of the box holds pasted pixels: the box is the face's extent
            assert face[0].any() and face[-1].any() and face[:, 0].any() and face[:, -1].any()
            assert config.min_face - 0.5 <= x2 - x1 <= config.max_face + 0.5
            assert 1.0 <= (y2 - y1) / (x2 - x1) <= 1.2 + 1 / (x2 - x1)
        assert not (changed & ~inside).any()
        assert inside.sum() == ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).sum()  # no overlap


def test_images_are_dark_with_the_lowlight_model(monkeypatch):
    calls = []
    real = lowlight.darken
    monkeypatch.setattr(lowlight, "darken", lambda *a: calls.append(a[1]) or real(*a))
    images = [synthetic.generate_image(SMALL, i) for i in range(SMALL.count)]
    assert len(calls) == SMALL.count and all(0.03 <= m.exposure <= 0.15 for m in calls)
    for image in images:
        assert image.dark.shape == (120, 160, 3) and image.dark.dtype == np.uint8
        assert image.dark.mean() < 0.45 * image.bright.mean()
        assert 0.01 < image.dark.mean() / 255 < 0.25
        assert np.all(image.boxes >= 0) and np.all(image.boxes[:, 2] <= 160) and np.all(image.boxes[:, 3] <= 120)


def test_face_counts_and_sizes_over_a_set():
    config = SyntheticConfig(count=40, width=200, height=150, empty_fraction=0.2)
    boxes = [synthetic.generate_image(config, i).boxes for i in range(config.count)]
    counts = np.array([len(b) for b in boxes])
    assert counts.max() <= 10 and (counts == 0).sum() >= 2 and (counts >= 5).sum() >= 5
    widths = np.concatenate([b[:, 2] - b[:, 0] for b in boxes])
    assert widths.min() >= 8 and widths.max() <= 64 and np.median(widths) < 30


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
