"""`facebench train-detector pyramidbox`: the public PyramidBox recipe on WIDER FACE or DARK FACE."""
from __future__ import annotations

import click


@click.command("pyramidbox")
@click.option("--data", required=True, type=click.Path(exists=True),
              help="WIDER FACE (wider_face_train_bbx_gt.txt + images) or DARK FACE (image/ + label/) dataset.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run directory (checkpoints, log.csv).")
@click.option("--vgg", type=click.Path(exists=True, dir_okay=False), default=None,
              help="ImageNet VGG16 weights (torchvision vgg16 state dict or SSD vgg16_reducedfc.pth).")
@click.option("--resume", type=click.Path(exists=True, dir_okay=False), default=None,
              help="OUT/last.pt of an interrupted run (same settings).")
@click.option("--steps", type=int, default=150_000, show_default=True)
@click.option("--batch-size", type=int, default=4, show_default=True, help="Images per step (per process).")
@click.option("--lr", type=float, default=5e-4, show_default=True)
@click.option("--lr-steps", default="80000,100000,120000", show_default=True, help="Steps where lr is x0.1.")
@click.option("--size", type=int, default=640, show_default=True, help="Training crop side (pixels).")
@click.option("--anchor-sampling-prob", type=float, default=0.5, show_default=True)
@click.option("--no-distort", is_flag=True, help="Disable photometric distortion.")
@click.option("--limit", type=int, default=None, help="Use only the first N images.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--workers", type=int, default=2, show_default=True, help="DataLoader worker processes.")
@click.option("--threads", type=int, default=None, help="torch CPU threads (e.g. 1 on a shared machine).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1 ...")
@click.option("--log-every", type=int, default=10, show_default=True)
@click.option("--save-every", type=int, default=1000, show_default=True)
def train_pyramidbox(data, out, vgg, resume, steps, batch_size, lr, lr_steps, size, anchor_sampling_prob,
                     no_distort, limit, seed, workers, threads, device, log_every, save_every):
    """Train PyramidBox (face + head branches) with the public recipe; writes OUT/pyramidbox.pth."""
    import torch

    from facebench.detectors.pyramidbox.train import TrainConfig, train
    from facebench.training import is_main_process

    if threads:
        torch.set_num_threads(threads)
    try:
        milestones = tuple(int(s) for s in lr_steps.split(",") if s.strip())
    except ValueError:
        raise click.BadParameter(f"{lr_steps!r}: expected comma-separated integers", param_hint="--lr-steps")
    config = TrainConfig(data=data, out=out, vgg=vgg, steps=steps, batch_size=batch_size, lr=lr,
                         lr_steps=milestones, size=size, anchor_sampling_prob=anchor_sampling_prob,
                         distort=not no_distort, seed=seed, workers=workers, device=device,
                         log_every=log_every, save_every=save_every, limit=limit)
    final = train(config, resume=resume)
    if is_main_process():  # under torchrun, rank 0 wrote the file
        click.echo(f"pyramidbox: weights written to {final}")
