"""MR-VAE under torchrun: two gloo ranks train exactly like one process on their union batch (its data,
its noise, gradients averaged), batch normalisation over the ranks equals one batch of the union, and a run
resumes only with the number of processes that wrote it."""
import os
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from facebench.checkpoint import CheckpointError, load_checkpoint
from facebench.enhancers.mrvae.layers import TFBatchNorm
from facebench.enhancers.mrvae.train import _check_resumable, train

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_mrvae_train import _config  # noqa: E402  (the tiny MR-VAE run on generated pairs)
from test_mrvae_train import folders  # noqa: E402,F401  (its fixture)

pytestmark = pytest.mark.usefixtures("one_thread")

_LR = 1e-3  # TrainConfig's default: Adam's first step moves every weight by about this much


def _rank_main(rank: int, init_file: str, root: str, batch_size: int) -> None:
    torch.set_num_threads(1)
    os.environ["WORLD_SIZE"] = "2"
    torch.distributed.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    train(_config(Path(root), steps=2, batch_size=batch_size), Path(root) / "ddp", device="cpu")


def _weights(path: Path) -> dict:
    return {k: v for k, v in torch.load(path, weights_only=True)["model"].items() if v.is_floating_point()}


def _moved_differently(a: dict, b: dict) -> float:
    """Share of weights whose first Adam step went another way in `b` than in `a`."""
    return sum(int(((a[k] - b[k]).abs() > _LR / 100).sum()) for k in a) / sum(a[k].numel() for k in a)


def test_two_gloo_ranks_train_like_one_process_on_the_union_batch(folders, tmp_path):
    mp.spawn(_rank_main, args=(str(tmp_path / "init"), str(folders), 1), nprocs=2, join=True)
    distributed = _weights(folders / "ddp" / "mrvae.pt")
    union = _weights(train(_config(folders, steps=2, batch_size=2), tmp_path / "union", device="cpu"))
    alone = _weights(train(_config(folders, steps=2, batch_size=1), tmp_path / "alone", device="cpu"))
    assert _moved_differently(union, distributed) < 0.001  # measured: 0
    # the comparison can fail: one process on one rank's pair moves 8.6% of the weights differently
    # (at the authors' initialisation the detail branch's gradients are ~1e-9, so its batch normalisation is
    # checked at the layer, below)
    assert _moved_differently(alone, distributed) > 0.02


def _union_batch():
    """(x Tensor[4, 3, 5, 5], upstream gradient like x, beta Tensor[3]), fixed."""
    g = torch.Generator().manual_seed(0)
    return (torch.randn(4, 3, 5, 5, generator=g) * 2 + 1, torch.randn(4, 3, 5, 5, generator=g),
            torch.randn(3, generator=g))


def _normalise(bn: TFBatchNorm, x: torch.Tensor, upstream: torch.Tensor) -> dict:
    """bn's output, and the gradients of (output * upstream).sum() for x and beta, and the moving averages."""
    x = x.clone().requires_grad_(True)
    y = bn(x)
    (y * upstream).sum().backward()
    return {"y": y.detach(), "x_grad": x.grad, "beta_grad": bn.beta.grad, "mean": bn.moving_mean.clone(),
            "var": bn.moving_variance.clone()}


def _bn_rank(rank: int, init_file: str, result: str) -> None:
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    x, upstream, beta = _union_batch()
    bn = TFBatchNorm(3)
    bn.beta.data.copy_(beta)
    bn.synchronized = True
    share = slice(2 * rank, 2 * rank + 2)
    torch.save(_normalise(bn, x[share], upstream[share]), f"{result}{rank}.pt")
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


def test_batch_normalisation_over_two_ranks_equals_one_union_batch(tmp_path):
    mp.spawn(_bn_rank, args=(str(tmp_path / "init"), str(tmp_path / "rank")), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    x, upstream, beta = _union_batch()
    bn = TFBatchNorm(3)
    bn.beta.data.copy_(beta)
    union = _normalise(bn, x, upstream)
    torch.testing.assert_close(torch.cat([r["y"] for r in ranks]), union["y"])
    torch.testing.assert_close(torch.cat([r["x_grad"] for r in ranks]), union["x_grad"])
    torch.testing.assert_close(ranks[0]["beta_grad"] + ranks[1]["beta_grad"], union["beta_grad"])
    for rank in ranks:
        torch.testing.assert_close(rank["mean"], union["mean"])
        torch.testing.assert_close(rank["var"], union["var"])
    # the comparison can fail: normalising one rank's half alone gives another output
    alone = TFBatchNorm(3)
    alone.beta.data.copy_(beta)
    assert (_normalise(alone, x[:2], upstream[:2])["y"] - union["y"][:2]).abs().max() > 0.1


def test_resume_needs_the_same_number_of_processes(folders, tmp_path):
    train(_config(folders, steps=1), tmp_path / "run", device="cpu")
    last = tmp_path / "run" / "last.pt"
    with pytest.raises(CheckpointError, match="trained by 1 processes, this run has 2"):
        _check_resumable(load_checkpoint(last)["metadata"], _config(folders, steps=2), 2, last)
