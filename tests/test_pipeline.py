"""Pipeline: batching across sizes, the detection cache, and resuming an interrupted run."""
import numpy as np
import pytest
import torch

from facebench.cache import DetectionCache, cache_key
from facebench.datasets import load_dataset, read_image
from facebench import pipeline
from facebench.pipeline import EnhancerPass, PipelineSettings, collect, quantize, run_detection, run_detection_passes
from facebench.plugin_api import Detector, Enhancer


class BrightBlobDetector(Detector):
    """A real, deterministic toy detector: one box per image around pixels brighter than the mean + 2 std."""

    name = "bright-blob"

    def detect(self, images):
        out = []
        for image in images:
            gray = image.mean(0)
            mask = gray > gray.mean() + 2 * gray.std()
            ys, xs = torch.nonzero(mask, as_tuple=True)
            if len(xs) == 0:
                out.append(torch.zeros(0, 5))
                continue
            out.append(torch.tensor([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1, gray[mask].mean()]]).float())
        return out


class Brighten(Enhancer):
    """Multiplies by a factor (a second, different enhancer for the shared-decoding tests)."""

    name = "brighten"

    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def enhance(self, images):
        return (images * self.factor).clamp(0, 1)


class FailingAfter(Enhancer):
    """Identity that raises on call number `fail_at` (simulates a run killed midway)."""

    name = "failing"

    def __init__(self, fail_at: int):
        super().__init__()
        self.calls, self.fail_at = 0, fail_at

    def enhance(self, images):
        self.calls += 1
        if self.calls == self.fail_at:
            raise KeyboardInterrupt("simulated kill")
        return images


@pytest.fixture(scope="module")
def dataset():
    return load_dataset(None, limit=6)


def _settings(**kw):
    return PipelineSettings(batch_size=2, workers=0, progress=False, **kw)


def test_quantize_rounds_to_the_8bit_grid():
    x = torch.tensor([0.0, 0.5, 1.2, -0.1, 0.2])
    q = quantize(x)
    assert torch.equal(q * 255, (q * 255).round()) and q.min() >= 0 and q.max() <= 1


def test_interrupted_run_resumes_and_matches_an_uninterrupted_one(dataset, tmp_path):
    parts = {"dataset": dataset.content_hash(), "qf": 90, "test": "resume"}
    interrupted = DetectionCache(tmp_path / "a", parts)
    with pytest.raises(KeyboardInterrupt):
        run_detection(dataset, 90, FailingAfter(fail_at=2), BrightBlobDetector(), interrupted, _settings())
    assert len(interrupted.missing([s.image_id for s in dataset.samples])) == 4  # first batch (2 images) kept
    timings = run_detection(dataset, 90, FailingAfter(fail_at=-1), BrightBlobDetector(), interrupted, _settings())
    assert timings["images_computed"] == 4 and timings["images_cached"] == 2
    again = run_detection(dataset, 90, FailingAfter(fail_at=-1), BrightBlobDetector(), interrupted, _settings())
    assert again["images_computed"] == 0

    fresh = DetectionCache(tmp_path / "b", parts)
    run_detection(dataset, 90, FailingAfter(fail_at=-1), BrightBlobDetector(), fresh, _settings())
    resumed, straight = collect(dataset, interrupted), collect(dataset, fresh)
    assert resumed.keys() == straight.keys()
    for key in straight:
        np.testing.assert_array_equal(resumed[key], straight[key])


def test_worker_processes_give_the_same_detections(dataset, tmp_path):
    a = DetectionCache(tmp_path, {"w": 0})
    b = DetectionCache(tmp_path, {"w": 2})
    run_detection(dataset, 70, FailingAfter(-1), BrightBlobDetector(), a, _settings())
    run_detection(dataset, 70, FailingAfter(-1), BrightBlobDetector(),
                  b, PipelineSettings(batch_size=3, workers=2, progress=False))
    for key, dets in collect(dataset, a).items():
        np.testing.assert_array_equal(dets, collect(dataset, b)[key])


def test_shards_partition_the_images(dataset, tmp_path):
    cache = DetectionCache(tmp_path, {"sharded": True})
    computed = [run_detection(dataset, None, FailingAfter(-1), BrightBlobDetector(), cache, _settings(),
                              shard=(rank, 2))["images_computed"] for rank in (0, 1)]
    assert computed == [3, 3] and not cache.missing([s.image_id for s in dataset.samples])


def test_cache_key_depends_on_every_part():
    base = {"dataset": "h", "qf": "90", "enhancer": {"name": "gamma", "settings": {"gamma": 0.4}}}
    changed = [dict(base, qf="80"), dict(base, dataset="g"),
               dict(base, enhancer={"name": "gamma", "settings": {"gamma": 0.5}})]
    assert len({cache_key(p) for p in [base] + changed}) == 4
    assert cache_key(dict(reversed(list(base.items())))) == cache_key(base)


def test_saved_enhanced_images_are_pngs_of_the_input_size(dataset, tmp_path):
    cache = DetectionCache(tmp_path / "c", {"save": True})
    run_detection(dataset, 90, FailingAfter(-1), BrightBlobDetector(), cache, _settings(save_enhanced=tmp_path / "enh"))
    sample = dataset.samples[0]
    saved = read_image(tmp_path / "enh" / f"{sample.image_id}.png")
    assert saved.shape == read_image(sample.image_path).shape


def test_one_decode_per_qf_serves_every_enhancer(dataset, tmp_path, monkeypatch):
    reads = []
    monkeypatch.setattr(pipeline, "read_image", lambda path: reads.append(path) or read_image(path))
    enhancers = [FailingAfter(-1), Brighten(2.0), Brighten(4.0)]
    jobs = [EnhancerPass(e, DetectionCache(tmp_path / "shared", {"enhancer": k})) for k, e in enumerate(enhancers)]
    timings = run_detection_passes(dataset, 80, jobs, BrightBlobDetector(), _settings())
    assert len(reads) == len(dataset)  # not 3x
    assert [t["images_computed"] for t in timings] == [len(dataset)] * 3 and timings[0]["shared_by"] == 3
    for k, e in enumerate(enhancers):  # the same detections as one enhancer at a time
        alone = DetectionCache(tmp_path / "alone", {"enhancer": k})
        run_detection(dataset, 80, e, BrightBlobDetector(), alone, _settings())
        for key, dets in collect(dataset, alone).items():
            np.testing.assert_array_equal(dets, collect(dataset, jobs[k].cache)[key])


def test_a_pass_decodes_only_what_some_enhancer_still_needs(dataset, tmp_path, monkeypatch):
    reads = []
    monkeypatch.setattr(pipeline, "read_image", lambda path: reads.append(path) or read_image(path))
    done = EnhancerPass(FailingAfter(-1), DetectionCache(tmp_path, {"done": True}))
    run_detection_passes(dataset, None, [done], BrightBlobDetector(), _settings())
    partial = EnhancerPass(Brighten(2.0), DetectionCache(tmp_path, {"partial": True}))
    run_detection_passes(dataset, None, [partial], BrightBlobDetector(), _settings(), shard=(0, 2))
    reads.clear()
    timings = run_detection_passes(dataset, None, [done, partial], BrightBlobDetector(), _settings())
    assert len(reads) == len(dataset) // 2
    assert [t["images_computed"] for t in timings] == [0, len(dataset) // 2]
