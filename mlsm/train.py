"""MLSM training loop: stage 1 trains VAE_C and VAE_N (Eq. 12/13), stage 2 the mapping networks with both
VAEs frozen (Eq. 18); `no_mapping` trains the encoder-decoder image-to-image (Table V ablation).
Stages and losses: `facebench.mlsm.stages`; validation: `.validation`; the exported file: `.export`.

Run directory layout (`out_dir`):
    mlsm.pt                  exported model {"model": state_dict, "metadata": {...}} (what the plugin loads)
    <stage>/last.pt          full training state of a stage (model part, discriminator, optimizers, RNG)
    <stage>/train.csv        loss terms every `log_every` steps
    <stage>/val.csv          validation PSNR / SSIM / PSNR-B (dB, dB) on held-out pairs
    mapping|refine/step<N>.pt  a loadable model (like mlsm.pt) at every validation of those stages
    config.json              the options of the last invocation
"""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import torch
import torch.distributed as dist
from tqdm import tqdm

from facebench.mlsm.config import LossConfig, ModelConfig
from facebench.mlsm.data import DataConfig, TrainingData
from facebench.mlsm.export import load_export, save_export
from facebench.mlsm.face_box_loss import FaceBoxLoss
from facebench.mlsm.face_losses import DetectionAwareLoss, retinaface_record
from facebench.mlsm.losses import build_perceptual, find_vgg_weights, lsgan_discriminator_loss
from facebench.mlsm.model import MLSM
from facebench.mlsm.stages import STAGES, Stage, build_stage, compute_losses
from facebench.mlsm.validation import validate
from facebench.provenance import environment
from facebench.training import (CSVLogger, DistributedContext, average_gradients, check_finite, linear_decay,
                                load_training_state, rank_device, save_training_state, seed_everything,
                                torchrun_process)
from facebench.weights import sha256_of

EXPORT_NAME = "mlsm.pt"


@dataclass(frozen=True)
class TrainOptions:
    """Everything a training run needs besides the model, loss and data configs.

    Attributes:
        out_dir: run directory. stage: 'vae-dark', 'vae-normal', 'mapping' or 'all'.
        steps: optimisation steps of the mapping (or no-mapping) stage; vae_steps: of each VAE stage;
            refine_steps: of the refine stage (only with a refinement head).
        decay_start: fraction of a stage's steps after which the LR decays linearly to 0.
        checkpoint_every / val_every / log_every: in steps (val also runs at the end of a stage).
        val_qf: JPEG QF of the held-out dark inputs. vgg_weights: explicit VGG file.
    """

    out_dir: str
    stage: str = "all"
    steps: int = 2000
    vae_steps: int = 2000
    refine_steps: int = 1000
    batch_size: int = 8
    lr: float = 2e-4
    decay_start: float = 0.5
    checkpoint_every: int = 100
    val_every: int = 500
    log_every: int = 10
    val_qf: int = 90
    seed: int = 0
    device: str = "auto"
    resume: bool = False
    vgg_weights: Optional[str] = None
    progress: bool = True
    command: str = ""


class MLSMTrainer:
    """Builds the model and runs stages; `step()` is one optimisation step (used by the tests)."""

    def __init__(self, model_cfg: ModelConfig, loss_cfg: LossConfig, data: TrainingData, opts: TrainOptions,
                 dist_ctx: Optional[DistributedContext] = None):
        self.model_cfg, self.loss_cfg, self.data, self.opts = model_cfg, loss_cfg, data, opts
        self.dist = dist_ctx or DistributedContext()
        self.device = rank_device(opts.device, self.dist)
        self.out = Path(opts.out_dir)
        if data.config.crop % model_cfg.multiple:
            raise ValueError(f"crop {data.config.crop} must be a multiple of {model_cfg.multiple} for this model "
                             f"(2 ** (stem_downsample + levels - 1 + 2)); e.g. --crop "
                             f"{-(-data.config.crop // model_cfg.multiple) * model_cfg.multiple}")
        seed_everything(opts.seed)  # same initial weights on every rank
        self.model = MLSM(model_cfg).to(self.device)
        self.perceptual = build_perceptual(loss_cfg.perceptual_kind, opts.vgg_weights).to(self.device)
        self.detection = DetectionAwareLoss().to(self.device) if loss_cfg.detection else None
        if bool(loss_cfg.face_boxes) != bool(data.config.face_fraction):
            raise ValueError("the face-box term needs labelled face mosaics and they need the term: pass "
                             "--w-face-boxes W together with --face-boxes JSON --face-fraction F")
        self.face_boxes = FaceBoxLoss().to(self.device) if loss_cfg.face_boxes else None
        self.metadata = load_export(self.out / EXPORT_NAME, self.model)

    def _perceptual_record(self) -> Dict[str, str]:
        kind = self.loss_cfg.perceptual_kind
        if kind == "ssim":
            return {"kind": "ssim", "note": "substitute: 1 - SSIM (no ImageNet VGG weights used)"}
        if kind == "retinaface":
            return {"kind": "retinaface", **retinaface_record()}
        path = find_vgg_weights(kind, self.opts.vgg_weights)
        return {"kind": kind, "weights": str(path), "sha256": sha256_of(path)}

    def _stage(self, name: str) -> Stage:
        return build_stage(self.model, name, self.metadata["stages"], self.opts.steps, self.opts.vae_steps,
                           self.opts.refine_steps, str(self.out / EXPORT_NAME))

    def compute_losses(self, stage: Stage, batch: Dict[str, torch.Tensor]):
        """Named weighted loss terms (scalars) and (output, target) images for the discriminator."""
        return compute_losses(self.model, stage, batch, self.loss_cfg, self.perceptual, self.detection,
                              self.face_boxes)

    def step(self, stage: Stage, opt_g, opt_d, sched_g, sched_d, step: int) -> Dict[str, float]:
        """One generator step then one discriminator step (LSGAN); returns the loss values."""
        batch = {k: v.to(self.device) for k, v in
                 self.data.batch(stage.kind, self.opts.batch_size, self.opts.seed, step, self.dist.rank).items()}
        stage.disc.requires_grad_(False)
        terms, output, target = self.compute_losses(stage, batch)
        check_finite(terms, step, self._last_path(stage) if self._last_path(stage).is_file() else None, self.dist)
        opt_g.zero_grad(set_to_none=True)
        terms["total"].backward()
        average_gradients(stage.net, self.dist)
        opt_g.step()
        stage.disc.requires_grad_(True)
        d_loss = lsgan_discriminator_loss(stage.disc(target), stage.disc(output.detach()))
        check_finite({"discriminator": d_loss}, step, None, self.dist)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        average_gradients(stage.disc, self.dist)
        opt_d.step()
        sched_g.step()
        sched_d.step()
        return {**{k: float(v.detach()) for k, v in terms.items()}, "disc": float(d_loss.detach())}

    def _last_path(self, stage: Stage) -> Path:
        return self.out / stage.name / "last.pt"

    def optimizers(self, stage: Stage):
        """Adam (lr, betas 0.5/0.999) for the trained part and the discriminator, with linear decay."""
        opt_g = torch.optim.Adam(stage.net.parameters(), lr=self.opts.lr, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(stage.disc.parameters(), lr=self.opts.lr, betas=(0.5, 0.999))
        start = int(stage.steps * self.opts.decay_start)
        return opt_g, opt_d, linear_decay(opt_g, stage.steps, start), linear_decay(opt_d, stage.steps, start)

    def _prepare(self, stage: Stage) -> None:
        """Freeze everything but the stage's part (the VAEs get no gradient in the mapping stage)."""
        self.model.requires_grad_(False)
        self.model.eval()
        stage.net.requires_grad_(True)
        stage.net.train()
        stage.disc.train()

    def validate(self, name: str) -> Dict[str, float]:
        """Validation metrics of stage `name` on the held-out pairs at `val_qf` (see `.validation`)."""
        return validate(self.model, name, self.data.val, self.opts.val_qf, self.device)

    def run_stage(self, name: str) -> Dict[str, float]:
        """Train one stage to completion (or resume it); returns its final validation metrics."""
        stage = self._stage(name)
        self._prepare(stage)
        opt_g, opt_d, sched_g, sched_d = self.optimizers(stage)
        parts = ({"net": stage.net, "disc": stage.disc}, {"g": opt_g, "d": opt_d}, {"g": sched_g, "d": sched_d})
        last, start = self._last_path(stage), 0
        if last.is_file():
            if not self.opts.resume:
                raise ValueError(f"{last}: a run exists; pass --resume to continue it or choose another --out")
            start = int(load_training_state(last, *parts, map_location=self.device)["step"])
        if start >= stage.steps and name in self.metadata["stages"]:
            return self.metadata["stages"][name].get("val", {})
        train_log, val_log = CSVLogger(self.out / name / "train.csv"), CSVLogger(self.out / name / "val.csv")
        bar = tqdm(range(start, stage.steps), initial=start, total=stage.steps, desc=f"mlsm {name}",
                   disable=not (self.opts.progress and self.dist.is_main), dynamic_ncols=True)
        began, val = time.time(), {}
        for step in bar:
            losses = self.step(stage, opt_g, opt_d, sched_g, sched_d, step)
            done = step + 1
            bar.set_postfix(loss=f"{losses['total']:.4f}")
            if self.dist.is_main and (done % self.opts.log_every == 0 or done == stage.steps):
                train_log.log({"step": done, "lr": sched_g.get_last_lr()[0], **losses})
            if done % self.opts.checkpoint_every == 0 or done == stage.steps:
                self._save_state(last, parts, done)
            if self.dist.is_main and (done % self.opts.val_every == 0 or done == stage.steps):
                val = self.validate(name)
                val_log.log({"step": done, **val})
                self._snapshot(name, done, val)
                stage.net.train()
        if not val and self.dist.is_main:  # resumed after the last step but before the export
            val = self.validate(name)
        self._finish(name, stage, val, time.time() - began)
        return val

    def _snapshot(self, name: str, step: int, val: Dict[str, float]) -> None:
        """A loadable model at every validation of the mapping and refine stages (`<stage>/step<N>.pt`),
        for choosing the shipped checkpoint afterwards by validation and detection scores."""
        if name in ("mapping", "refine"):
            metadata = {**self.metadata, "config": self.model_cfg.as_dict(),
                        "snapshot": {"stage": name, "step": step, "val": val, "val_qf": self.opts.val_qf}}
            save_export(self.out / name / f"step{step:06d}.pt", self.model, metadata)

    def _save_state(self, path: Path, parts, step: int) -> None:
        if self.dist.is_main:
            save_training_state(path, *parts, step=step, metadata={"config": self.model_cfg.as_dict()})
        if self.dist.enabled:
            dist.barrier()

    def _finish(self, name: str, stage: Stage, val: Dict[str, float], seconds: float) -> None:
        self.metadata.update({
            "config": self.model_cfg.as_dict(), "loss": dataclasses.asdict(self.loss_cfg),
            "perceptual": self._perceptual_record(), "data": self.data.describe(), "seed": self.opts.seed,
            "batch_size": self.opts.batch_size, "lr": self.opts.lr, "world_size": self.dist.world_size})
        previous = self.metadata["stages"].get(name, {})
        self.metadata["stages"][name] = {"steps": stage.steps, "val": val, "val_qf": self.opts.val_qf,
                                         "seconds": previous.get("seconds", 0.0) + seconds,
                                         "command": self.opts.command, "environment": environment(self.device)}
        if self.dist.is_main:
            save_export(self.out / EXPORT_NAME, self.model, self.metadata)
        if self.dist.enabled:
            dist.barrier()

    def run(self) -> Dict[str, Dict[str, float]]:
        """Run the requested stage(s); writes config.json; returns {stage: validation metrics}."""
        if self.dist.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "config.json").write_text(json.dumps({
                "model": self.model_cfg.as_dict(), "loss": dataclasses.asdict(self.loss_cfg),
                "data": dataclasses.asdict(self.data.config), "options": dataclasses.asdict(self.opts)}, indent=2))
        every = [s for s in STAGES if s != "refine" or self.model_cfg.refine_width]
        names: List[str] = ["mapping"] if self.model_cfg.no_mapping and self.opts.stage == "all" else (
            every if self.opts.stage == "all" else [self.opts.stage])
        return {name: self.run_stage(name) for name in names}


def train(model_cfg: ModelConfig, loss_cfg: LossConfig, data_cfg: DataConfig, opts: TrainOptions):
    """Entry point (also under torchrun): load data, build the trainer, run. Returns {stage: val metrics}."""
    if opts.stage not in (*STAGES, "all"):
        raise ValueError(f"stage must be one of {', '.join(STAGES)} or all, got {opts.stage!r}")
    with torchrun_process(opts.device) as (dist_ctx, _):  # the trainer finds the same device (rank_device)
        return MLSMTrainer(model_cfg, loss_cfg, TrainingData.load(data_cfg), opts, dist_ctx).run()
