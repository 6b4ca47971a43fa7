"""LightenDiffusion under torchrun: two gloo ranks train like one process on their union batch, ranks draw
different images, and a run resumes only with the number of processes that wrote it."""
import os
from dataclasses import asdict

import cv2
import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from facebench.enhancers.lightendiffusion import train as ld_train
from facebench.enhancers.lightendiffusion.config import Stage1Config
from facebench.training import DistributedContext

pytestmark = pytest.mark.usefixtures("one_thread")

_SIZE, _LR = 32, 1e-4


def _images():
    """Per rank: (dark Tensor[1, 3, 32, 32], normal Tensor[1, 3, 32, 32]), fixed: noise for rank 0, smooth
    ramps for rank 1, so that the two ranks' gradients differ."""
    g = torch.Generator().manual_seed(0)
    noise = (torch.rand(1, 3, _SIZE, _SIZE, generator=g) * 0.2, torch.rand(1, 3, _SIZE, _SIZE, generator=g))
    ramp = torch.linspace(0, 1, _SIZE).expand(1, 3, _SIZE, _SIZE)
    return [noise, (ramp * 0.1, ramp.transpose(2, 3).contiguous())]


def _config(folder, out) -> Stage1Config:
    return Stage1Config(dark=(str(folder),), normal=(str(folder),), out=str(out), steps=1, batch_size=1, size=_SIZE,
                        lr=_LR, save_every=1, log_every=1, device="cpu")


def _fix_inputs(batches) -> None:
    """Replace the trainer's crops by `batches[rank]` and its random darkening by a fixed gain."""
    def batch(config, dark, normal, step, ctx):
        low, high = batches[ctx.rank]
        return low, high, torch.Generator().manual_seed(0)
    ld_train._batch = batch
    ld_train.exposure_variant = lambda images, generator: images * 0.3


def _rank_main(rank: int, init_file: str, folder: str, out: str) -> None:
    torch.set_num_threads(1)
    os.environ["WORLD_SIZE"] = "2"
    torch.distributed.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    _fix_inputs(_images())
    ld_train.train_stage1(_config(folder, out))


def _photo_folder(folder, count: int = 1):
    """`count` flat grey 32 px photos (grey 20, 60, 100, ...) in a new `folder`."""
    folder.mkdir(parents=True)
    for i in range(count):
        cv2.imwrite(str(folder / f"{i}.png"), np.full((_SIZE, _SIZE, 3), 40 * i + 20, np.uint8))
    return folder


def _single(tmp_path, name, batches):
    """Stage-1 weights after one step of one process whose batch is `batches[0]`."""
    _fix_inputs(batches)
    config = _config(_photo_folder(tmp_path / name / "photos"), tmp_path / name / "run")
    return torch.load(ld_train.train_stage1(config), weights_only=True)


def _moved_differently(a: dict, b: dict) -> float:
    """Share of weights whose first Adam step (about +-lr each) went another way in `b` than in `a`."""
    differ = sum(int(((a[k] - b[k]).abs() > _LR / 2).sum()) for k in a if a[k].is_floating_point())
    return differ / sum(a[k].numel() for k in a if a[k].is_floating_point())


def test_two_gloo_ranks_train_like_one_process_on_the_union_batch(tmp_path, monkeypatch):
    for name in ("_batch", "exposure_variant"):  # restored after the test (the single runs patch them here)
        monkeypatch.setattr(ld_train, name, getattr(ld_train, name))
    folder = _photo_folder(tmp_path / "photos")
    mp.spawn(_rank_main, args=(str(tmp_path / "init"), str(folder), str(tmp_path / "ddp")), nprocs=2, join=True)
    distributed = torch.load(tmp_path / "ddp" / "stage1.pt", weights_only=True)
    assert distributed["metadata"]["world_size"] == 2

    (low0, high0), (low1, high1) = _images()
    union = _single(tmp_path, "union", [(torch.cat([low0, low1]), torch.cat([high0, high1]))])
    rank0_only = _single(tmp_path, "rank0", [(low0, high0)])
    assert _moved_differently(union["model"], distributed["model"]) < 0.001  # measured: 0
    # the comparison can fail: without rank 1's gradient, weights step the other way (measured: 2.8% of them)
    assert _moved_differently(rank0_only["model"], distributed["model"]) > 0.01


def test_ranks_take_different_shares_of_the_union_batch(tmp_path):
    folder = _photo_folder(tmp_path / "photos", count=4)
    config, files = _config(folder, tmp_path / "run"), sorted(folder.glob("*.png"))
    for step in range(3):
        shares = [ld_train._batch(config, files, files, step, DistributedContext(rank=r, world_size=2))[0]
                  for r in range(2)]
        assert not torch.equal(shares[0], shares[1])  # different photos (each photo is one flat grey)


def test_resume_needs_the_same_number_of_processes(tmp_path):
    config = _config(tmp_path, tmp_path / "run")
    with pytest.raises(ValueError, match="trained by 2 processes, this run has 1"):
        ld_train._check_resumable({"config": asdict(config), "world_size": 2}, config, 1, tmp_path / "last.pt")
