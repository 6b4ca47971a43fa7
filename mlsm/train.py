"""MLSM training: stage 1 trains VAE_C and VAE_N (Eq. 12/13), stage 2 the mapping networks with both
VAEs frozen (Eq. 18); `no_mapping` trains the encoder-decoder image-to-image (Table V ablation).

Run directory layout (`out_dir`):
    mlsm.pt                  exported model {"model": state_dict, "metadata": {...}} (what the plugin loads)
    <stage>/last.pt          full training state of a stage (model part, discriminator, optimizers, RNG)
    <stage>/train.csv        loss terms every `log_every` steps
    <stage>/val.csv          validation PSNR / SSIM / PSNR-B (dB, dB) on held-out pairs
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
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from facebench.checkpoint import load_checkpoint, save_checkpoint
from facebench.degrade import jpeg_roundtrip
from facebench.image_quality import QualityMeter
from facebench.mlsm.config import LossConfig, ModelConfig
from facebench.mlsm.data import DataConfig, TrainingData, to_tensor, to_uint8
from facebench.mlsm.inference import enhance_padded, pad_to
from facebench.mlsm.losses import (PatchDiscriminator, build_perceptual, find_vgg_weights,
                                   lsgan_discriminator_loss, lsgan_generator_loss)
from facebench.mlsm.model import MLSM
from facebench.training import (CSVLogger, DistributedContext, check_finite, init_distributed, linear_decay,
                                load_training_state, resolve_device, save_training_state, seed_everything)
from facebench.weights import sha256_of

STAGES = ("vae-dark", "vae-normal", "mapping")
EXPORT_NAME = "mlsm.pt"


@dataclass(frozen=True)
class TrainOptions:
    """Everything a training run needs besides the model, loss and data configs.

    Attributes:
        out_dir: run directory. stage: 'vae-dark', 'vae-normal', 'mapping' or 'all'.
        steps: optimisation steps of the mapping (or no-mapping) stage; vae_steps: of each VAE stage.
        decay_start: fraction of a stage's steps after which the LR decays linearly to 0.
        checkpoint_every / val_every / log_every: in steps (val also runs at the end of a stage).
        val_qf: JPEG QF of the held-out dark inputs. vgg_weights: explicit VGG file.
    """

    out_dir: str
    stage: str = "all"
    steps: int = 2000
    vae_steps: int = 2000
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


@dataclass
class _Stage:
    """The parts of one stage: what trains, what data it eats, how its losses are computed."""

    name: str
    net: nn.Module
    disc: nn.Module
    kind: str
    steps: int


class MLSMTrainer:
    """Builds the model and runs stages; `step()` is one optimisation step (used by the tests)."""

    def __init__(self, model_cfg: ModelConfig, loss_cfg: LossConfig, data: TrainingData, opts: TrainOptions,
                 dist_ctx: Optional[DistributedContext] = None):
        self.model_cfg, self.loss_cfg, self.data, self.opts = model_cfg, loss_cfg, data, opts
        self.device = resolve_device(opts.device)
        self.dist = dist_ctx or DistributedContext()
        if self.device.type == "cuda" and self.dist.enabled:
            self.device = torch.device("cuda", self.dist.local_rank)
        self.out = Path(opts.out_dir)
        seed_everything(opts.seed)  # same initial weights on every rank
        self.model = MLSM(model_cfg).to(self.device)
        self.perceptual = build_perceptual(loss_cfg.perceptual_kind, opts.vgg_weights).to(self.device)
        self.metadata = self._load_export()

    # ---- exported model -------------------------------------------------------------------------
    def _perceptual_record(self) -> Dict[str, str]:
        kind = self.loss_cfg.perceptual_kind
        if kind == "ssim":
            return {"kind": "ssim", "note": "substitute: 1 - SSIM (no ImageNet VGG weights used)"}
        path = find_vgg_weights(kind, self.opts.vgg_weights)
        return {"kind": kind, "weights": str(path), "sha256": sha256_of(path)}

    def _load_export(self) -> Dict:
        path = self.out / EXPORT_NAME
        if not path.is_file():
            return {"config": self.model_cfg.as_dict(), "stages": {}}
        checkpoint = load_checkpoint(path)
        saved = checkpoint["metadata"].get("config")
        if saved != self.model_cfg.as_dict():
            raise ValueError(f"{path}: was trained with config {saved}, not {self.model_cfg.as_dict()} "
                             f"(use another --out or the same options)")
        self.model.load_state_dict(checkpoint["model"])
        return checkpoint["metadata"]

    def _export(self) -> None:
        if self.dist.is_main:
            save_checkpoint(self.out / EXPORT_NAME, {"model": self.model.state_dict(), "metadata": self.metadata})

    # ---- stages ---------------------------------------------------------------------------------
    def _stage(self, name: str) -> _Stage:
        cfg, opts = self.model_cfg, self.opts
        if cfg.no_mapping:
            if name != "mapping":
                raise ValueError(f"--no-mapping trains one image-to-image stage; use --stage mapping or all, not {name}")
            return _Stage(name, self.model.vae_dark, PatchDiscriminator().to(self.device), "pair", opts.steps)
        if name == "mapping":
            missing = [s for s in ("vae-dark", "vae-normal") if s not in self.metadata["stages"]]
            if missing:
                raise ValueError(f"{self.out / EXPORT_NAME}: stage(s) {', '.join(missing)} not trained yet; "
                                 f"run --stage {missing[0]} first (or --stage all)")
            return _Stage(name, self.model.mapping, PatchDiscriminator().to(self.device), "pair", opts.steps)
        net = self.model.vae_dark if name == "vae-dark" else self.model.vae_normal
        return _Stage(name, net, PatchDiscriminator().to(self.device), "dark" if name == "vae-dark" else "normal",
                      opts.vae_steps)

    def compute_losses(self, stage: _Stage, batch: Dict[str, torch.Tensor]):
        """Named weighted loss terms (scalars) and (output, target) images for the discriminator."""
        w = self.loss_cfg
        if stage.name == "mapping" and not self.model_cfg.no_mapping:
            with torch.no_grad():
                _, dark_codes = self.model.vae_dark.encode(batch["dark"], sample=False)
                _, normal_codes = self.model.vae_normal.encode(batch["normal"], sample=False)
            mapped = self.model.mapping(dark_codes)
            output = self.model.vae_normal.decode(mapped, batch["normal"].shape[-2:])
            target = batch["normal"]
            terms = {"latent": w.latent * sum(F.l1_loss(m, n) for m, n in zip(mapped, normal_codes))}
        elif stage.name == "mapping":  # no-mapping ablation: deterministic encoder-decoder
            output, target = self.model.vae_dark(batch["dark"], sample=False)[0], batch["normal"]
            terms = {"l1": w.l1 * F.l1_loss(output, target)}
        else:
            target = batch["dark" if stage.kind == "dark" else "normal"]
            output, latents = stage.net(target, sample=True)
            terms = {"l1": w.l1 * F.l1_loss(output, target), "kl": w.kl * latents.kl()}
        terms["perceptual"] = w.perceptual * self.perceptual(output, target)
        terms["gan"] = w.gan * lsgan_generator_loss(stage.disc(output))
        terms["total"] = sum(terms.values())
        return terms, output, target

    def _average_gradients(self, module: nn.Module) -> None:
        if not self.dist.enabled:
            return
        for p in module.parameters():
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad /= self.dist.world_size

    def step(self, stage: _Stage, opt_g, opt_d, sched_g, sched_d, step: int) -> Dict[str, float]:
        """One generator step then one discriminator step (LSGAN); returns the loss values."""
        batch = {k: v.to(self.device) for k, v in
                 self.data.batch(stage.kind, self.opts.batch_size, self.opts.seed, step, self.dist.rank).items()}
        stage.disc.requires_grad_(False)
        terms, output, target = self.compute_losses(stage, batch)
        check_finite(terms, step, self._last_path(stage) if self._last_path(stage).is_file() else None)
        opt_g.zero_grad(set_to_none=True)
        terms["total"].backward()
        self._average_gradients(stage.net)
        opt_g.step()
        stage.disc.requires_grad_(True)
        d_loss = lsgan_discriminator_loss(stage.disc(target), stage.disc(output.detach()))
        check_finite({"discriminator": d_loss}, step, None)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self._average_gradients(stage.disc)
        opt_d.step()
        sched_g.step()
        sched_d.step()
        return {**{k: float(v.detach()) for k, v in terms.items()}, "disc": float(d_loss.detach())}

    def _last_path(self, stage: _Stage) -> Path:
        return self.out / stage.name / "last.pt"

    def optimizers(self, stage: _Stage):
        """Adam (lr, betas 0.5/0.999) for the trained part and the discriminator, with linear decay."""
        opt_g = torch.optim.Adam(stage.net.parameters(), lr=self.opts.lr, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(stage.disc.parameters(), lr=self.opts.lr, betas=(0.5, 0.999))
        start = int(stage.steps * self.opts.decay_start)
        return opt_g, opt_d, linear_decay(opt_g, stage.steps, start), linear_decay(opt_d, stage.steps, start)

    def _prepare(self, stage: _Stage) -> None:
        """Freeze everything but the stage's part (the VAEs get no gradient in the mapping stage)."""
        self.model.requires_grad_(False)
        self.model.eval()
        stage.net.requires_grad_(True)
        stage.net.train()
        stage.disc.train()

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
                stage.net.train()
        if not val and self.dist.is_main:  # resumed after the last step but before the export
            val = self.validate(name)
        self._finish(name, stage, val, time.time() - began)
        return val

    def _save_state(self, path: Path, parts, step: int) -> None:
        if self.dist.is_main:
            save_training_state(path, *parts, step=step, metadata={"config": self.model_cfg.as_dict()})
        if self.dist.enabled:
            dist.barrier()

    def _finish(self, name: str, stage: _Stage, val: Dict[str, float], seconds: float) -> None:
        self.metadata.update({
            "config": self.model_cfg.as_dict(), "loss": dataclasses.asdict(self.loss_cfg),
            "perceptual": self._perceptual_record(), "data": self.data.describe(), "seed": self.opts.seed,
            "batch_size": self.opts.batch_size, "lr": self.opts.lr, "world_size": self.dist.world_size})
        previous = self.metadata["stages"].get(name, {})
        self.metadata["stages"][name] = {"steps": stage.steps, "val": val, "val_qf": self.opts.val_qf,
                                         "seconds": previous.get("seconds", 0.0) + seconds,
                                         "command": self.opts.command}
        self._export()
        if self.dist.enabled:
            dist.barrier()

    @torch.no_grad()
    def validate(self, name: str) -> Dict[str, float]:
        """PSNR / SSIM / PSNR-B over the held-out pairs (dark inputs at `val_qf`). VAE stages score their
        reconstruction of the held-out dark (vae-dark) or normal (vae-normal) images."""
        if not self.data.val:
            return {}
        self.model.eval()
        meter = QualityMeter()
        for _, low, high in self.data.val:
            dark = jpeg_roundtrip(low, self.opts.val_qf)
            if name == "vae-dark":
                source, reference, net = dark, dark, lambda x: self.model.vae_dark(x, sample=False)[0]
            elif name == "vae-normal":
                source, reference, net = high, high, lambda x: self.model.vae_normal(x, sample=False)[0]
            else:
                source, reference, net = dark, high, None
            image = to_tensor(source).to(self.device)
            if net is None:
                out = enhance_padded(self.model, image)
            else:
                out = _padded_call(net, image, self.model_cfg.multiple)
            meter.process(to_uint8(out), reference)
        return meter.evaluate()

    def run(self) -> Dict[str, Dict[str, float]]:
        """Run the requested stage(s); writes config.json; returns {stage: validation metrics}."""
        if self.dist.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            (self.out / "config.json").write_text(json.dumps({
                "model": self.model_cfg.as_dict(), "loss": dataclasses.asdict(self.loss_cfg),
                "data": dataclasses.asdict(self.data.config), "options": dataclasses.asdict(self.opts)}, indent=2))
        names: List[str] = ["mapping"] if self.model_cfg.no_mapping and self.opts.stage == "all" else (
            list(STAGES) if self.opts.stage == "all" else [self.opts.stage])
        return {name: self.run_stage(name) for name in names}


def _padded_call(net, image: torch.Tensor, multiple: int) -> torch.Tensor:
    h, w = image.shape[-2:]
    return net(pad_to(image, multiple))[..., :h, :w]


def train(model_cfg: ModelConfig, loss_cfg: LossConfig, data_cfg: DataConfig, opts: TrainOptions):
    """Entry point (also under torchrun): load data, build the trainer, run. Returns {stage: val metrics}."""
    if opts.stage not in (*STAGES, "all"):
        raise ValueError(f"stage must be one of {', '.join(STAGES)} or all, got {opts.stage!r}")
    dist_ctx = init_distributed(resolve_device(opts.device))
    try:
        trainer = MLSMTrainer(model_cfg, loss_cfg, TrainingData.load(data_cfg), opts, dist_ctx)
        return trainer.run()
    finally:
        if dist_ctx.enabled and dist.is_initialized():
            dist.destroy_process_group()
