"""MLSM training paths that can silently go wrong: gradient averaging across torchrun ranks, the mapping
stage fitting a batch, exact resume inside the mapping stage, Table V/VI variants training one step,
the crop-size check, and the refinement head (starts as the paper's model, trains alone)."""
from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from facebench.checkpoint import load_checkpoint
from facebench.mlsm.config import LossConfig, ModelConfig
from facebench.mlsm.data import DataConfig
from facebench.mlsm.model import MLSM
from facebench.mlsm.refine import RefineHead
from facebench.mlsm.train import MLSMTrainer, TrainOptions
from facebench.training import DistributedContext

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_mlsm_train import _data  # noqa: E402  (the shared tiny in-memory data set)

TINY = ModelConfig(levels=2, width=8, latent_channels=4, mapping_width=8, mapping_resblocks=1)
LOSS = LossConfig(perceptual_kind="ssim", gan=0.01)

pytestmark = pytest.mark.usefixtures("one_thread")


def _trainer(out: Path, cfg: ModelConfig = TINY, **opts) -> MLSMTrainer:
    base = dict(out_dir=str(out), steps=4, vae_steps=4, batch_size=2, checkpoint_every=2, val_every=100,
                log_every=1, progress=False)
    return MLSMTrainer(cfg, LOSS, _data(), TrainOptions(**{**base, **opts}))


class _FixedBatches:
    """Stands in for TrainingData.batch: rank r always gets `batches[r]`."""

    def __init__(self, data, batches):
        self.data, self.batches = data, batches

    def __getattr__(self, name):
        return getattr(self.data, name)

    def batch(self, kind, size, seed, step, rank=0):
        return self.batches[rank]


def _batches():
    g = torch.Generator().manual_seed(0)
    return [{"dark": torch.rand(2, 3, 32, 32, generator=g) * 0.2, "normal": torch.rand(2, 3, 32, 32, generator=g)}
            for _ in range(2)]


def _one_mapping_step(trainer: MLSMTrainer):
    trainer.metadata["stages"] = {"vae-dark": {}, "vae-normal": {}}
    stage = trainer._stage("mapping")
    trainer._prepare(stage)
    trainer.step(stage, *trainer.optimizers(stage), 0)
    return {k: v.detach().clone() for k, v in trainer.model.mapping.state_dict().items()}, \
        {k: v.detach().clone() for k, v in stage.disc.state_dict().items()}


def _rank_main(rank: int, init_file: str, out: str, result: str) -> None:
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    trainer = MLSMTrainer(TINY, LOSS, _data(), TrainOptions(out_dir=out, progress=False, batch_size=2),
                          DistributedContext(rank=rank, world_size=2))
    trainer.data = _FixedBatches(trainer.data, _batches())
    mapping, disc = _one_mapping_step(trainer)
    if rank == 0:
        torch.save({"mapping": mapping, "disc": disc}, result)
    torch.distributed.barrier()  # tear down together: a rank leaving while its peer still works can abort gloo
    torch.distributed.destroy_process_group()


def test_two_gloo_ranks_equal_one_rank_with_the_union_batch(tmp_path):
    result = tmp_path / "ranks.pt"
    mp.spawn(_rank_main, args=(str(tmp_path / "init"), str(tmp_path / "ddp"), str(result)), nprocs=2, join=True)
    distributed = torch.load(result)

    single = _trainer(tmp_path / "single")
    union = {k: torch.cat([b[k] for b in _batches()]) for k in ("dark", "normal")}
    single.data = _FixedBatches(single.data, [union])
    single.opts = TrainOptions(**{**single.opts.__dict__, "batch_size": 4})
    mapping, disc = _one_mapping_step(single)
    for key, value in mapping.items():
        torch.testing.assert_close(distributed["mapping"][key], value, rtol=1e-5, atol=1e-6, msg=key)
    # Conv biases right before an InstanceNorm have a zero gradient in exact arithmetic; Adam turns their
    # rounding noise into a full-size step of random sign, so they cannot be compared.
    before_norm = {"net.2.bias", "net.5.bias"}
    for key, value in disc.items():
        if key in before_norm:
            continue
        torch.testing.assert_close(distributed["disc"][key], value, rtol=1e-5, atol=1e-6, msg=key)
    # the step changed the weights, so the comparison above is not between two untouched copies
    fresh = _trainer(tmp_path / "fresh").model.mapping.state_dict()
    assert any(not torch.equal(fresh[k], mapping[k]) for k in mapping)


def test_mapping_stage_fits_a_fixed_batch(tmp_path):
    torch.manual_seed(0)
    trainer = _trainer(tmp_path, lr=3e-3)
    trainer.metadata["stages"] = {"vae-dark": {}, "vae-normal": {}}
    stage = trainer._stage("mapping")
    trainer._prepare(stage)
    batch = trainer.data.batch("pair", 2, seed=0, step=0)
    optimizer = torch.optim.Adam(stage.net.parameters(), lr=3e-3)
    losses = []
    for _ in range(150):  # Eq. 18's latent term: the untrained D_N barely reacts to its input
        terms, _, _ = trainer.compute_losses(stage, batch)
        optimizer.zero_grad()
        terms["latent"].backward()
        optimizer.step()
        losses.append(float(terms["latent"].detach()))
    assert losses[-1] < losses[0] / 10, (losses[0], losses[-1])


def _rows(path: Path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_mapping_stage_resume_is_bit_identical(tmp_path, monkeypatch):
    full = _trainer(tmp_path / "full")
    full.run()
    reference = _rows(tmp_path / "full" / "mapping" / "train.csv")

    cut = _trainer(tmp_path / "cut")
    cut.run_stage("vae-dark")
    cut.run_stage("vae-normal")
    original = MLSMTrainer.step

    def stop_at_two(self, stage, *args):
        if stage.name == "mapping" and args[-1] == 2:
            raise KeyboardInterrupt
        return original(self, stage, *args)

    monkeypatch.setattr(MLSMTrainer, "step", stop_at_two)
    with pytest.raises(KeyboardInterrupt):
        cut.run_stage("mapping")
    monkeypatch.setattr(MLSMTrainer, "step", original)
    resumed = _trainer(tmp_path / "cut", resume=True)
    resumed.run_stage("mapping")
    assert _rows(tmp_path / "cut" / "mapping" / "train.csv") == reference
    for key, value in full.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key


@pytest.mark.parametrize("cfg", [
    ModelConfig(levels=1, width=8, latent_channels=4, mapping_width=8, mapping_resblocks=1),
    ModelConfig(levels=3, map_levels=1, width=8, latent_channels=4, mapping_width=8, mapping_resblocks=1),
    ModelConfig(levels=3, map_levels=2, width=8, latent_channels=4, mapping_width=8, mapping_resblocks=1),
    ModelConfig(levels=3, width=8, latent_channels=4, mapping_width=8, mapping_resblocks=1),
    ModelConfig(levels=3, latent_channels=8, width=8, mapping_width=8, mapping_resblocks=1),
    ModelConfig(levels=3, no_mapping=True, width=8, latent_channels=4)],
    ids=["k1", "k3-map1", "k3-map2", "k3", "k3-latent8", "no-mapping"])
def test_table_v_vi_variants_train_one_step(tmp_path, cfg):
    trainer = MLSMTrainer(cfg, LOSS, _data(crop=64), TrainOptions(out_dir=str(tmp_path), progress=False,
                                                                  batch_size=2))
    if not cfg.no_mapping:
        trainer.metadata["stages"] = {"vae-dark": {}, "vae-normal": {}}
        assert len(trainer.model.mapping.levels) == cfg.mapped_levels
    stage = trainer._stage("mapping")
    trainer._prepare(stage)
    before = {k: v.clone() for k, v in stage.net.state_dict().items()}
    losses = trainer.step(stage, *trainer.optimizers(stage), 0)
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    changed = [k for k, v in stage.net.state_dict().items() if not torch.equal(v, before[k])]
    assert changed, "one step must change the trained part"
    if not cfg.no_mapping:
        with torch.no_grad():
            mapped = trainer.model.mapping(trainer.model.vae_dark.encode(torch.rand(1, 3, 64, 64), False)[1])
        first = cfg.levels - cfg.mapped_levels
        assert all(torch.equal(m, torch.zeros_like(m)) for m in mapped[:first])
        assert all(m.abs().max() > 0 for m in mapped[first:])


def test_crop_not_a_multiple_is_one_clear_error(tmp_path):
    cfg = ModelConfig(levels=3, width=8, latent_channels=4, mapping_width=8)  # multiple 2**(1+2+2) = 32
    data = _data(crop=32)
    data.config = DataConfig(crop=48)
    with pytest.raises(ValueError, match=r"crop 48 must be a multiple of 32.*--crop 64") as info:
        MLSMTrainer(cfg, LOSS, data, TrainOptions(out_dir=str(tmp_path), progress=False))
    assert "\n" not in str(info.value)


def test_untrained_refinement_head_returns_the_papers_output():
    torch.manual_seed(0)
    cfg = ModelConfig(levels=2, width=8, latent_channels=4, mapping_width=8, mapping_resblocks=1, refine_width=8)
    model = MLSM(cfg).eval()
    dark = torch.rand(1, 3, 64, 64) * 0.3
    with torch.no_grad():
        decoded = model.vae_normal.decode(model.map_latents(dark)[0], dark.shape[-2:])
        assert torch.equal(model(dark), decoded.clamp(0, 1))


@pytest.mark.parametrize("context, seen", [(0, 9), (2, 21)])
def test_refinement_head_sees_exactly_its_stated_window(context, seen):
    """Gradient support of one output pixel: 9 + 4 (2**context - 1) px of the dark input, no more."""
    torch.manual_seed(0)
    head = RefineHead(width=8, context=context)
    torch.nn.init.normal_(head.out.weight)  # the zero-initialised last conv would hide every input
    dark = torch.rand(1, 3, 61, 61, requires_grad=True)
    decoded = torch.full((1, 3, 61, 61), 0.5)
    head.out(head.body(torch.cat([dark, decoded, decoded], 1)))[0, :, 30, 30].sum().backward()
    rows, cols = dark.grad[0].abs().sum(0).nonzero().unbind(1)
    assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (seen, seen)


def test_refine_context_needs_a_head():
    with pytest.raises(ValueError, match="refine_context must be >= 0 and needs a refinement head"):
        ModelConfig(refine_context=2)


@pytest.mark.parametrize("context", [0, 2])
def test_refine_stage_trains_only_the_head_and_adds_it_to_a_finished_run(tmp_path, context):
    plain = _trainer(tmp_path, steps=2, vae_steps=2)
    plain.run()
    cfg = ModelConfig(**{**TINY.as_dict(), "refine_width": 8, "refine_context": context})
    refined = MLSMTrainer(cfg, LOSS, _data(), TrainOptions(out_dir=str(tmp_path), progress=False, batch_size=2,
                                                           refine_steps=2, resume=True, stage="refine"))
    before = {k: v.clone() for k, v in refined.model.state_dict().items()}
    assert all(torch.equal(before[k], v) for k, v in plain.model.state_dict().items())  # the run was loaded
    refined.run()
    after = refined.model.state_dict()
    changed = {k for k in after if not torch.equal(after[k], before[k])}
    assert changed and all(k.startswith("refine.") for k in changed)
    saved = load_checkpoint(tmp_path / "mlsm.pt")["metadata"]["config"]
    assert (saved["refine_width"], saved["refine_context"]) == (8, context)
