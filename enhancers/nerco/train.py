"""Train NeRCo (`facebench train-enhancer nerco`): the dual closed loop on unpaired dark / normal photos.

Per step (the authors' `optimize_parameters`): the loop's forward pass; the generator terms (losses.py)
update Pre, G_A, H and G_B with the discriminators frozen; then the discriminator terms, on pooled
generated images, update D_A, D_B, D_A_edge and D_B_edge. Two Adam optimisers (lr 2e-4, betas 0.5 /
0.999); the learning rates are constant until `decay_start`, then fall linearly to 0 at `steps` (the
paper: 100 + 200 epochs, applied per epoch there and per step here).

Run directory (--out): config.json, log.csv (+ TensorBoard when installed), last.pt (the full training
state: networks, optimisers, schedulers, image pools, RNG; for --resume), nerco.pt (final test-time weights
{"model": NeRCoNet state dict, "metadata"}; use with `--enhancer nerco --weights OUT/nerco.pt`).
Batches depend only on (seed, step), and pools and RNG states are saved, so a resumed run is exact.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Dict, Mapping, Optional

import torch

from facebench.checkpoint import load_checkpoint, save_checkpoint
from facebench.enhancers.authors_weights import load_strict
from facebench.enhancers.nerco import weights_io
from facebench.enhancers.nerco.data import UnpairedBatches, domain_files, load_resized
from facebench.enhancers.nerco.gan import NeRCoGAN
from facebench.enhancers.nerco.losses import POOLS, LossWeights, discriminator_losses, generator_losses
from facebench.enhancers.nerco.model import NeRCoArch, infer_arch
from facebench.enhancers.nerco.pool import ImagePool
from facebench.enhancers.nerco.text_prior import TextPrior, load_text_prior
from facebench.training import (CSVLogger, check_finite, linear_decay, load_training_state, require_single_process,
                                resolve_device, save_training_state, seed_everything)

# Settings that may differ when a run is resumed (everything else must match the saved config).
_RESUMABLE_CHANGES = ("steps", "out", "device", "save_every", "log_every")


@dataclass(frozen=True)
class NeRCoTrainConfig:
    """Everything that defines a training run (written to config.json and every checkpoint).

    The defaults are the small CPU configuration; `paper_settings` gives the paper's.
    """

    out: str  # run directory
    dark: str = ""  # folder of low-light photos (domain A, searched recursively); "" = none
    normal: str = ""  # folder of normal-light photos (domain B); "" = none
    paired: str = ""  # paired folder (low/, high/): low images join A, high images B; "" = none
    holdout: int = 25  # the paired folder's last pairs by name that are never loaded
    steps: int = 20000  # optimiser steps
    decay_start: int = 10000  # step where the linear learning-rate decay to 0 begins
    batch_size: int = 1
    load_size: int = 144  # photos resized to load_size x load_size ...
    crop_size: int = 128  # ... then random crop_size crops (multiple of 4, >= 32)
    ngf: int = 16  # generator width (paper 64; multiple of 16)
    blocks: int = 6  # residual blocks of G_A, G_B and Pre (paper 9)
    nrn_hidden: int = 64  # NRN MLP width (paper 256)
    ndf: int = 32  # discriminator width (paper 64)
    lr: float = 2e-4
    beta1: float = 0.5
    pool_size: int = 50  # generated images the discriminators also see
    clip: str = ""  # local CLIP checkpoint for the text prior; "" = text-prior terms left out
    clip_arch: str = "RN50"  # its architecture (open_clip name)
    seed: int = 0
    save_every: int = 500  # steps between checkpoints (last.pt)
    log_every: int = 10  # steps between log.csv rows
    device: str = "auto"
    init: str = ""  # warm start: test-time weights (authors' folder / nerco.pt) or a run's last.pt (every network)

    @property
    def arch(self) -> NeRCoArch:
        return NeRCoArch(ngf=self.ngf, blocks=self.blocks, nrn_hidden=self.nrn_hidden)


def paper_settings(dark_count: int, normal_count: int, batch_size: int = 1) -> Dict[str, object]:
    """The paper's configuration: full-size networks, 512 x 512 crops, 100 + 200 epochs of max(|A|, |B|)."""
    epoch = max(1, max(dark_count, normal_count) // batch_size)
    return {"ngf": 64, "blocks": 9, "nrn_hidden": 256, "ndf": 64, "load_size": 512, "crop_size": 512,
            "steps": 300 * epoch, "decay_start": 100 * epoch}


def _check_config(config: NeRCoTrainConfig) -> None:
    if config.crop_size < 32 or config.crop_size % 4:
        raise ValueError(f"--crop-size {config.crop_size}: must be a multiple of 4, at least 32")
    if config.load_size < config.crop_size:
        raise ValueError(f"--load-size {config.load_size}: must be >= --crop-size {config.crop_size}")
    if config.holdout < 0:
        raise ValueError(f"--holdout {config.holdout}: must be >= 0")
    if config.ngf < 16 or config.ngf % 16 or config.blocks < 1 or config.batch_size < 1:
        raise ValueError(f"need ngf a multiple of 16, blocks >= 1, batch size >= 1 (got {config.ngf}, "
                         f"{config.blocks}, {config.batch_size})")


def _check_resumable(saved: Mapping[str, object], config: NeRCoTrainConfig, path: Path) -> None:
    defaults = {f.name: f.default for f in fields(NeRCoTrainConfig)}  # for keys older runs did not save
    current = asdict(config)
    trained = {k: saved.get(k, defaults[k]) for k in current if k not in _RESUMABLE_CHANGES}
    differ = [k for k, value in trained.items() if value != current[k]]
    if differ:
        raise ValueError(f"--resume: {path} was trained with different {', '.join(differ)} "
                         f"({', '.join(f'{k}={trained[k]!r}' for k in differ)})")


def _init_from(gan: NeRCoGAN, spec: str, config: NeRCoTrainConfig) -> None:
    """Warm start. A run's training state (its last.pt) sets every network of `gan` (G_B and the
    discriminators too); test-time weights (authors' folder / nerco.pt) set gan.net only. Optimisers,
    schedule, pools and step start fresh either way; the architecture must match."""
    path = Path(spec)
    state = load_checkpoint(path) if path.is_file() else None
    if isinstance(state, dict) and "modules" in state:  # a training state (save_training_state)
        saved = state.get("metadata", {})
        trained = {**saved.get("arch", {}), "ndf": saved.get("config", {}).get("ndf")}
        wanted = {**asdict(config.arch), "ndf": config.ndf}
        if "gan" not in state["modules"] or trained != wanted:
            raise ValueError(f"--init {spec}: expected a NeRCo training state with {wanted}, got {trained}")
        gan.load_state_dict(state["modules"]["gan"], strict=True)
        return
    path = weights_io.locate(spec)
    state, _ = weights_io.read_weights(path)
    if infer_arch(state) != config.arch:
        raise ValueError(f"--init {spec}: weights have architecture {infer_arch(state)}, the run uses {config.arch}")
    load_strict(gan.net, state, path)


def train_step(gan: NeRCoGAN, real_a: torch.Tensor, real_b: torch.Tensor,
               optimizers: Mapping[str, torch.optim.Optimizer], pools: Mapping[str, ImagePool],
               text_prior: Optional[TextPrior], step: int, last: Optional[Path]) -> Dict[str, torch.Tensor]:
    """One generator update then one discriminator update; returns all (detached) terms.

    Raises NonFiniteLossError (naming the term and `last`) before an update that a NaN / inf would spoil.
    """
    out = gan(real_a, real_b)
    for d in gan.discriminators():
        d.requires_grad_(False)
    g_terms = generator_losses(gan, out, real_a, real_b, LossWeights(), text_prior)
    check_finite(g_terms, step, last)
    optimizers["G"].zero_grad(set_to_none=True)
    sum(g_terms.values()).backward()
    optimizers["G"].step()
    for d in gan.discriminators():
        d.requires_grad_(True)
    d_terms = discriminator_losses(gan, out, real_a, real_b, pools)
    check_finite(d_terms, step, last)
    optimizers["D"].zero_grad(set_to_none=True)
    sum(d_terms.values()).backward()
    optimizers["D"].step()
    return {k: v.detach() for k, v in {**g_terms, **d_terms}.items()}


def _log_row(step: int, terms: Mapping[str, torch.Tensor], lr: float) -> Dict[str, object]:
    g = sum(float(v) for k, v in terms.items() if not k.startswith("D_"))
    d = sum(float(v) for k, v in terms.items() if k.startswith("D_"))
    return {"step": step, "loss_G": g, "loss_D": d, **{k: float(v) for k, v in terms.items()}, "lr": lr}


def train(config: NeRCoTrainConfig, resume: bool = False) -> Path:
    """Train NeRCo; returns the path of the final weights (out/nerco.pt).

    With `resume`, continues exactly from out/last.pt (same config except steps / out / device / logging).
    """
    require_single_process("train-enhancer nerco")
    _check_config(config)
    dark_files, normal_files = domain_files(config.dark, config.normal, config.paired, config.holdout)
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    device = resolve_device(config.device)
    seed_everything(config.seed)
    gan = NeRCoGAN(config.arch, config.ndf)
    if config.init:
        _init_from(gan, config.init, config)
    gan.to(device).train()
    d_params = [p for d in gan.discriminators() for p in d.parameters()]
    optimizers = {"G": torch.optim.Adam(gan.generator_parameters(), lr=config.lr, betas=(config.beta1, 0.999)),
                  "D": torch.optim.Adam(d_params, lr=config.lr, betas=(config.beta1, 0.999))}
    schedulers = {k: linear_decay(o, config.steps, config.decay_start) for k, o in optimizers.items()}
    pools = {name: ImagePool(config.pool_size) for name in POOLS}
    text_prior = load_text_prior(config.clip, config.clip_arch, device) if config.clip else None
    batches = UnpairedBatches(load_resized(dark_files, config.load_size), load_resized(normal_files, config.load_size),
                              config.crop_size, config.batch_size, config.seed)
    last, step = out / "last.pt", 0
    if resume:
        if not last.is_file():
            raise ValueError(f"--resume: {last} does not exist (nothing to resume)")
        state = load_training_state(last, {"gan": gan}, optimizers, schedulers, map_location=device)
        _check_resumable(state["metadata"]["config"], config, last)
        for name, pool in pools.items():
            pool.load_state_dict(state["metadata"]["pools"][name])
        step = state["step"]
    (out / "config.json").write_text(json.dumps(asdict(config), indent=2) + "\n")
    logger = CSVLogger(out / "log.csv")
    metadata = {"config": asdict(config), "arch": asdict(config.arch),
                "images": {"dark": len(dark_files), "normal": len(normal_files)},
                "text_prior": f"CLIP {config.clip_arch} {config.clip}" if config.clip else "none (terms left out)"}
    while step < config.steps:
        real_a, real_b = (t.to(device) for t in batches(step))
        terms = train_step(gan, real_a, real_b, optimizers, pools, text_prior, step, last if last.is_file() else None)
        for scheduler in schedulers.values():
            scheduler.step()
        step += 1
        if step % config.log_every == 0 or step == config.steps:
            logger.log(_log_row(step, terms, optimizers["G"].param_groups[0]["lr"]))
        if step % config.save_every == 0 or step == config.steps:
            pool_states = {name: pool.state_dict() for name, pool in pools.items()}
            save_training_state(last, {"gan": gan}, optimizers, schedulers, step, {**metadata, "pools": pool_states})
    final = out / "nerco.pt"
    save_checkpoint(final, {"model": gan.net.state_dict(), "metadata": {**metadata, "step": step}})
    return final

