"""Training LightenDiffusion in the paper's two stages, on unpaired dark and normal-light photos.

Stage 1 trains the CTDN (encoder/decoder + latent Retinex decomposition; losses.stage1_losses).
Stage 2 loads the stage-1 CTDN (ours or the authors' `stage1_weight.pth.tar`), freezes it and trains the
denoiser with the noise loss and the self-constrained consistency loss (losses.stage2_losses), from
PyTorch's initialisation or from the denoiser of an earlier stage-2 file (`init`).
Adam (0.9, 0.999, eps 1e-8), constant learning rate, no EMA (the authors keep an EMA shadow but evaluate
the raw weights, so it would not change the shipped model).

Two sizes (config.py): a small CPU configuration by default, the authors' network and stage-2 recipe
with `full=True`.

Run folder: config.json, log.csv (+ tensorboard/ when installed), last.pt (training state, atomic, for
`--resume`), and at the end stage1.pt (CTDN) or lightendiffusion.pt (whole network, `--weights` of the
enhancer). Batches depend only on (seed, step), so a resumed run continues exactly.

Under torchrun (`torchrun --nproc_per_node N -m facebench train-enhancer lightendiffusion ...`) each rank
takes its share of one union batch of N x batch_size images, gradients are averaged over the ranks (gloo
on CPU, NCCL on GPUs), and rank 0 alone writes the run folder (log.csv shows the loss of rank 0's share);
a run resumes with the same N.
"""
from __future__ import annotations

import csv
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import torch
from torch import nn

from facebench import __version__
from facebench.atomic import write_json_atomic, write_text_atomic
from facebench.checkpoint import save_checkpoint
from facebench.enhancers.lightendiffusion.config import Stage1Config, Stage2Config, architecture_of
from facebench.enhancers.lightendiffusion.ctdn import CTDN
from facebench.enhancers.lightendiffusion.data import (exposure_variant, list_images, load_crops, step_generator,
                                                       stream_indices)
from facebench.enhancers.lightendiffusion.losses import stage1_losses, stage2_losses
from facebench.enhancers.lightendiffusion.model import LightenDiffusionNet
from facebench.enhancers.lightendiffusion.weights import read_ctdn, read_net
from facebench.training import (CSVLogger, DistributedContext, average_gradients, check_finite, check_same_world_size,
                                load_training_state, save_training_state, seed_everything, torchrun_process)
from facebench.weights import sha256_of

ENHANCER = "lightendiffusion"


def _check(config: "Stage1Config | Stage2Config", multiple: int) -> None:
    if config.size % multiple:
        raise ValueError(f"--size {config.size}: must be a multiple of {multiple} for this stage and network")
    if config.batch_size < 1 or config.steps < 0:
        raise ValueError("--batch-size must be >= 1 and --steps >= 0")
    if getattr(config, "scc_every", 1) < 1:
        raise ValueError(f"--scc-every must be >= 1, got {config.scc_every}")


def _check_resumable(metadata: Dict[str, Any], config: Any, world_size: int, path: Path) -> None:
    """Refuse a resume whose options change the model or its data; the length and placement of the run and
    how often the consistency term is computed (`steps`, `out`, `device`, `scc_every`) may change. Options
    newer than the checkpoint count as their defaults."""
    saved, current = metadata["config"], asdict(config)
    defaults = {f.name: f.default for f in fields(config)}
    saved = {k: saved.get(k, defaults.get(k)) for k in current}
    differ = [k for k in current if k not in ("steps", "out", "device", "scc_every") and saved[k] != current[k]]
    if differ:
        raise ValueError(f"--resume: {path} was trained with different {', '.join(differ)} "
                         f"({', '.join(f'{k}={saved[k]!r}' for k in differ)})")
    check_same_world_size(metadata, world_size, path)


def _truncate_log(path: Path, step: int) -> None:
    """Drop log rows after `step` (written after the checkpoint that is resumed), so the log stays exact."""
    if not path.is_file():
        return
    rows = list(csv.reader(path.open(newline="")))
    kept = rows[:1] + [r for r in rows[1:] if int(r[0]) <= step]
    write_text_atomic(path, "".join(",".join(r) + "\n" for r in kept))


def _loop(config: Any, modules: Dict[str, nn.Module], compute: Callable[[int], Dict[str, torch.Tensor]],
          export: Callable[[int], Dict[str, Any]], final_name: str, resume: bool, device: torch.device,
          ctx: DistributedContext) -> Path:
    """The training loop both stages share: Adam on `modules`' trainable parameters (gradients averaged over
    the torchrun ranks of `ctx`), NaN guard, CSV log, atomic checkpoints every `save_every` steps, exact resume
    from out/last.pt; only rank 0 writes. Returns out/final_name."""
    out = Path(config.out)
    if ctx.is_main:
        out.mkdir(parents=True, exist_ok=True)
    parameters = [p for m in modules.values() for p in m.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(parameters, lr=config.lr, betas=(0.9, 0.999), eps=1e-8)
    last, step = out / "last.pt", 0
    if resume:
        if not last.is_file():
            raise ValueError(f"--resume: {last} does not exist (nothing to resume)")
        state = load_training_state(last, modules, {"adam": optimizer}, {}, map_location=device)
        _check_resumable(state["metadata"], config, ctx.world_size, last)
        step = state["step"]
        if ctx.is_main:
            _truncate_log(out / "log.csv", step)
    logger = None
    if ctx.is_main:
        write_json_atomic(out / "config.json", asdict(config))
        logger = CSVLogger(out / "log.csv")
    metadata = {"config": asdict(config), "world_size": ctx.world_size}
    while step < config.steps:
        losses = compute(step)
        check_finite(losses, step, last if last.is_file() else None, ctx)
        total = sum(losses.values())
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        for module in modules.values():
            average_gradients(module, ctx)
        optimizer.step()
        step += 1
        if logger and (step % config.log_every == 0 or step == config.steps):
            terms = {k: float(v.detach()) for k, v in losses.items()}
            logger.log({"step": step, "loss": float(total.detach()), **terms})
        if ctx.is_main and (step % config.save_every == 0 or step == config.steps):
            save_training_state(last, modules, {"adam": optimizer}, {}, step, metadata)
    final = out / final_name
    if ctx.is_main:
        save_checkpoint(final, export(step))
    return final


def _streams(config: Any) -> Tuple[List[Path], List[Path]]:
    return list_images(config.dark, "--dark"), list_images(config.normal, "--normal")


def _batch(config: Any, dark: List[Path], normal: List[Path], step: int, ctx: DistributedContext
           ) -> Tuple[torch.Tensor, torch.Tensor, torch.Generator]:
    """(dark crops, normal crops) of `step` for this rank, each [batch_size, 3, size, size] in [0, 1]: its
    share of the union batch of world_size x batch_size images; and the rank's generator, drawn from after."""
    n, generator = config.batch_size, step_generator(config.seed, step, ctx.rank)
    share = slice(ctx.rank * n, (ctx.rank + 1) * n)
    union = n * ctx.world_size
    low = load_crops(dark, stream_indices(step, len(dark), union, config.seed, 0)[share], config.size, generator)
    high = load_crops(normal, stream_indices(step, len(normal), union, config.seed, 1)[share], config.size, generator)
    return low, high, generator


def _metadata(config: Any, stage: int, step: int, dark: List[Path], normal: List[Path], world_size: int
              ) -> Dict[str, Any]:
    return {"enhancer": ENHANCER, "stage": stage, "architecture": asdict(architecture_of(config)),
            "config": asdict(config), "step": step, "world_size": world_size, "facebench_version": __version__,
            "data": {"dark": list(config.dark), "dark_images": len(dark), "normal": list(config.normal),
                     "normal_images": len(normal)}}


def train_stage1(config: Stage1Config, resume: bool = False) -> Path:
    """Train the CTDN; returns out/stage1.pt ({"model": CTDN state dict, "metadata"})."""
    _check(config, 8)
    dark, normal = _streams(config)
    with torchrun_process(config.device) as (ctx, device):
        seed_everything(config.seed)
        a = architecture_of(config)
        ctdn = CTDN(a.recon_channels, a.retinex_channels, a.heads).to(device).train()

        def compute(step: int) -> Dict[str, torch.Tensor]:
            low, high, generator = _batch(config, dark, normal, step, ctx)
            images = torch.cat([low, high])
            darker = exposure_variant(images, generator)
            return stage1_losses(ctdn, images.to(device), darker.to(device), config.weights)

        def export(step: int) -> Dict[str, Any]:
            return {"model": ctdn.state_dict(), "metadata": _metadata(config, 1, step, dark, normal, ctx.world_size)}

        return _loop(config, {"ctdn": ctdn}, compute, export, "stage1.pt", resume, device, ctx)


def _init_denoiser(config: Stage2Config, architecture) -> nn.Module:
    """The denoiser of the stage-2 file `config.init`; it must have been trained with this architecture on
    the same stage-1 weights (its latents are theirs)."""
    init, _, metadata = read_net(config.init)
    if init.architecture != architecture:
        raise ValueError(f"--init {config.init}: trained with architecture {init.architecture}, not {architecture} "
                         f"(use the same --full setting)")
    if metadata.get("stage1_sha256") not in (None, sha256_of(config.stage1)):
        raise ValueError(f"--init {config.init}: its denoiser was trained on other stage-1 weights "
                         f"(sha256 {metadata['stage1_sha256'][:12]}…), not {config.stage1}")
    return init.Unet


def train_stage2(config: Stage2Config, resume: bool = False) -> Path:
    """Train the denoiser on the frozen stage-1 CTDN; returns out/lightendiffusion.pt (whole network)."""
    a = architecture_of(config)
    _check(config, a.image_multiple)
    dark, normal = _streams(config)
    with torchrun_process(config.device) as (ctx, device):
        seed_everything(config.seed)
        net = LightenDiffusionNet(a)
        net.decom = read_ctdn(config.stage1, a)
        if config.init:
            net.Unet.load_state_dict(_init_denoiser(config, a).state_dict())
        net.decom.requires_grad_(False)
        net.to(device).train()
        net.decom.eval()

        def compute(step: int) -> Dict[str, torch.Tensor]:
            low, high, generator = _batch(config, dark, normal, step, ctx)
            scc_step = (step + 1) % config.scc_every == 0  # every scc_every-th step, weighted scc_every x
            return stage2_losses(net, low.to(device), high.to(device), generator, config.sampling_steps,
                                 config.scc_weight * config.scc_every if scc_step else 0.0)

        def export(step: int) -> Dict[str, Any]:
            metadata = {**_metadata(config, 2, step, dark, normal, ctx.world_size),
                        "stage1_sha256": sha256_of(config.stage1)}
            return {"model": net.state_dict(), "metadata": metadata}

        return _loop(config, {"unet": net.Unet}, compute, export, "lightendiffusion.pt", resume, device, ctx)
