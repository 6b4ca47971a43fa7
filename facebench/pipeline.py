"""The evaluation pipeline: read -> JPEG at QF -> enhance -> 8-bit -> detect, batched and resumable.

Decoding and JPEG round trips run in DataLoader worker processes started by a fork server (or in the main
process); enhancement and detection run on the device, one batch of same-size images at a time. A QF pass
serves several enhancers at once (`EnhancerPass`): each image is read and JPEG-compressed once per QF and
the same degraded frame goes to every enhancer that still needs it, so memory holds one batch of frames,
not one per enhancer. Finished images go straight into each enhancer's `DetectionCache`, so an interrupted
run resumes where it stopped and a torchrun job's ranks (each a shard of the images) write into the same
caches for rank 0 to merge.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from facebench.cache import DetectionCache
from facebench.datasets import FaceDataset, read_image
from facebench.degrade import QualityFactor, jpeg_roundtrip, qf_label
from facebench.plugin_api import Detector, Enhancer
from facebench.worker_processes import worker_context


@dataclass(frozen=True)
class PipelineSettings:
    """How the pipeline runs (none of this changes the detections, so none of it is in the cache key).

    Attributes:
        batch_size: images per enhancer/detector call.
        workers: DataLoader processes decoding and compressing images (0 = in the main process).
        save_enhanced: folder to write enhanced images to (PNG, `<image_id>.png`), or None.
        progress: show a tqdm bar with images/s.
    """

    batch_size: int = 4
    workers: int = 2
    save_enhanced: Optional[Path] = None
    progress: bool = True


class _DegradedImages(Dataset):
    """Items (position, uint8 RGB [H, W, 3] after the JPEG round trip at `qf`)."""

    def __init__(self, paths: Sequence[Path], qf: QualityFactor):
        self.paths = list(paths)
        self.qf = qf

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Tuple[int, np.ndarray]:
        return index, jpeg_roundtrip(read_image(self.paths[index]), self.qf)


def _as_list(batch):
    return batch


def to_tensor(images: List[np.ndarray], device: torch.device) -> torch.Tensor:
    """Same-size uint8 RGB arrays [H, W, 3] -> float Tensor[B, 3, H, W] in [0, 1] on `device`."""
    stacked = torch.from_numpy(np.stack(images)).to(device)
    return stacked.permute(0, 3, 1, 2).float().div_(255.0)


def quantize(images: torch.Tensor) -> torch.Tensor:
    """Round Tensor[B, 3, H, W] in [0, 1] to the 8-bit grid (as if the enhanced image were saved)."""
    return images.clamp(0.0, 1.0).mul(255.0).round_().div_(255.0)


def _save_png(folder: Path, image_id: str, image: torch.Tensor) -> None:
    path = folder / f"{image_id}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = image.mul(255.0).round().byte().permute(1, 2, 0).cpu().numpy()
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


@dataclass(frozen=True)
class EnhancerPass:
    """One enhancer's share of a QF pass.

    Attributes:
        enhancer: the enhancer.
        cache: where its detections go (keyed by dataset, QF, enhancer and detector).
        save_enhanced: folder for its enhanced images (PNG, `<image_id>.png`), or None.
    """

    enhancer: Enhancer
    cache: DetectionCache
    save_enhanced: Optional[Path] = None


@torch.inference_mode()
def _process_group(ids: List[str], images: List[np.ndarray], job: EnhancerPass, detector: Detector,
                   timings: Dict[str, float]) -> None:
    device = detector.device
    batch = to_tensor(images, device)
    t0 = time.perf_counter()
    enhanced = quantize(job.enhancer.enhance(batch.to(job.enhancer.device)).to(device))
    t1 = time.perf_counter()
    detections = detector.detect(enhanced)
    t2 = time.perf_counter()
    timings["enhance_s"] += t1 - t0
    timings["detect_s"] += t2 - t1
    for image_id, image, dets in zip(ids, enhanced, detections):
        job.cache.put(image_id, dets.detach().double().cpu().numpy())
        if job.save_enhanced is not None:
            _save_png(job.save_enhanced, image_id, image)


def _run_batch(batch: List[Tuple[int, np.ndarray]], todo: list, jobs: Sequence[EnhancerPass],
               missing: List[Set[str]], detector: Detector, timings: List[Dict[str, float]]) -> int:
    """Every job's images of one decoded batch, in same-size groups; returns the (image, job) pairs done."""
    images_by_position = dict(batch)
    done = 0
    for job, need, job_timings in zip(jobs, missing, timings):
        groups: Dict[tuple, List[int]] = {}
        for position, image in batch:
            if todo[position].image_id in need:
                groups.setdefault(image.shape, []).append(position)
        for positions in groups.values():
            _process_group([todo[p].image_id for p in positions], [images_by_position[p] for p in positions],
                           job, detector, job_timings)
            done += len(positions)
    return done


def run_detection_passes(dataset: FaceDataset, qf: QualityFactor, jobs: Sequence[EnhancerPass], detector: Detector,
                         settings: PipelineSettings, shard: Tuple[int, int] = (0, 1)) -> List[Dict[str, float]]:
    """Fill every job's cache for this process's shard of the images, decoding each image once.

    An image is read and JPEG-compressed once if any job still needs it, and the degraded frame goes to
    every job that does (`settings.save_enhanced` is ignored: each job names its own folder).

    Args:
        jobs: the enhancers of this QF with their caches.
        shard: (rank, world_size); rank r handles images r, r + world_size, ...

    Returns:
        per job, timings in seconds and counts: "enhance_s", "detect_s", "images_computed", "images_cached",
        and the shared pass's "total_s" (wall time), "decode_s" (reading + JPEG, or waiting for the
        loader's workers) and "shared_by" (number of jobs in the pass): the same values on every job.
    """
    rank, world = shard
    samples = dataset.samples[rank::world]
    ids = [s.image_id for s in samples]
    missing = [set(job.cache.missing(ids)) for job in jobs]
    todo = [s for s in samples if any(s.image_id in need for need in missing)]
    timings = [{"total_s": 0.0, "decode_s": 0.0, "enhance_s": 0.0, "detect_s": 0.0, "shared_by": len(jobs),
                "images_computed": len(need), "images_cached": len(samples) - len(need)} for need in missing]
    if not todo:
        return timings
    start = time.perf_counter()
    decode_s = 0.0
    loader = DataLoader(_DegradedImages([s.image_path for s in todo], qf), batch_size=settings.batch_size,
                        num_workers=settings.workers, collate_fn=_as_list,
                        multiprocessing_context=worker_context(settings.workers))
    names = ", ".join(job.enhancer.name for job in jobs)
    label = f"QF {qf_label(qf)}: {names}" if len(jobs) > 1 else f"{names} @ QF {qf_label(qf)}"
    total = sum(len(need) for need in missing)
    with tqdm(total=total, desc=label, unit="img", disable=not settings.progress, leave=False) as bar:
        batches = iter(loader)
        while True:
            t0 = time.perf_counter()
            batch = next(batches, None)
            decode_s += time.perf_counter() - t0
            if batch is None:
                break
            bar.update(_run_batch(batch, todo, jobs, missing, detector, timings))
    for job_timings in timings:
        job_timings.update(total_s=time.perf_counter() - start, decode_s=decode_s)
    return timings


def run_detection(dataset: FaceDataset, qf: QualityFactor, enhancer: Enhancer, detector: Detector,
                  cache: DetectionCache, settings: PipelineSettings, shard: Tuple[int, int] = (0, 1)
                  ) -> Dict[str, float]:
    """Fill `cache` with one enhancer's detections for this process's shard of the images not cached yet
    (`run_detection_passes` with one job; enhanced images go to `settings.save_enhanced`).

    Returns:
        timings in seconds (total, decode, enhance, detect) and the number of images computed / reused.
    """
    job = EnhancerPass(enhancer, cache, settings.save_enhanced)
    return run_detection_passes(dataset, qf, [job], detector, settings, shard)[0]


def collect(dataset: FaceDataset, cache: DetectionCache) -> Dict[str, np.ndarray]:
    """All detections of `dataset` from `cache`: image_id -> float64 [N, 5]. Raises if any is missing."""
    missing = cache.missing([s.image_id for s in dataset.samples])
    if missing:
        raise RuntimeError(f"{len(missing)} images have no detections in {cache.folder} (first: {missing[0]})")
    return {s.image_id: cache.get(s.image_id) for s in dataset.samples}
