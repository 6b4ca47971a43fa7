"""Shared training pieces: CSV (+ TensorBoard) logging, the NaN guard, linear decay, exact resume."""
import datetime
import math

import pytest
import torch
import torch.multiprocessing as mp

from facebench.training import (CSVLogger, DistributedContext, NonFiniteLossError, average_gradients, check_finite,
                                linear_decay, load_training_state, save_training_state)


def test_csv_log_appends_across_resumes(tmp_path):
    CSVLogger(tmp_path / "log.csv").log({"step": 1, "loss": 0.5})
    CSVLogger(tmp_path / "log.csv").log({"step": 2, "loss": 0.25})
    assert (tmp_path / "log.csv").read_text().splitlines() == ["step,loss", "1,0.5", "2,0.25"]


def test_tensorboard_mirror_when_installed(tmp_path):
    pytest.importorskip("tensorboard", reason="tensorboard not installed (optional)")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logger = CSVLogger(tmp_path / "train.csv")
    for step in (1, 2, 3):
        logger.log({"step": step, "loss": 1.0 / step, "name": "x"})
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    values = [(e.step, e.value) for e in events.Scalars("train/loss")]
    assert [s for s, _ in values] == [1, 2, 3] and values[2][1] == pytest.approx(1 / 3)


def test_nan_guard_names_the_term_and_the_checkpoint(tmp_path):
    check_finite({"l1": torch.tensor(0.3)}, 5, None)
    with pytest.raises(NonFiniteLossError, match=r"'gan' is nan at step 7.*last.pt"):
        check_finite({"l1": torch.tensor(0.3), "gan": torch.tensor(math.nan)}, 7, tmp_path / "last.pt")


def _nan_on_rank_1(rank: int, init_file: str, outcome_dir: str) -> None:
    """Rank 1's loss is NaN, rank 0's is finite; each rank writes what check_finite did."""
    torch.distributed.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    loss = torch.tensor(math.nan if rank == 1 else 1.0)
    try:
        check_finite({"l1": loss}, 7, None, DistributedContext(rank=rank, world_size=2))
        outcome = "continued"
    except NonFiniteLossError as exc:
        outcome = str(exc)
    with open(f"{outcome_dir}/rank{rank}.txt", "w") as f:
        f.write(outcome)
    torch.distributed.destroy_process_group()


def test_nan_on_one_torchrun_rank_stops_every_rank(tmp_path):
    mp.spawn(_nan_on_rank_1, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    assert (tmp_path / "rank1.txt").read_text().startswith("loss term 'l1' is nan at step 7")
    # without agreement rank 0 would go on and wait for rank 1's gradients forever
    assert (tmp_path / "rank0.txt").read_text().startswith("a loss term is not finite on another process at step 7")


def _average_rank(rank: int, init_file: str, outcome_dir: str) -> None:
    """Rank r's loss is (r + 1) * shared.w (+ 10 * only_rank1.w on rank 1); `unused` takes no part; writes
    the averaged gradients. Mismatched collectives time out after a minute instead of hanging the suite."""
    torch.distributed.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2,
                                         timeout=datetime.timedelta(seconds=60))
    net = torch.nn.ModuleDict({name: torch.nn.Linear(1, 1, bias=False) for name in ("shared", "only_rank1",
                                                                                     "unused")})
    x = torch.ones(1, 1)
    loss = (rank + 1) * net["shared"](x).sum() + (10 * net["only_rank1"](x).sum() if rank == 1 else 0)
    loss.backward()
    average_gradients(net, DistributedContext(rank=rank, world_size=2))
    torch.save({name: m.weight.grad for name, m in net.items()}, f"{outcome_dir}/rank{rank}.pt")
    torch.distributed.destroy_process_group()


def test_average_gradients_is_the_union_mean_when_a_rank_skips_a_parameter(tmp_path):
    mp.spawn(_average_rank, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=2, join=True)
    for rank in (0, 1):
        grads = torch.load(tmp_path / f"rank{rank}.pt")
        assert float(grads["shared"]) == pytest.approx(1.5)  # (1 + 2) / 2
        assert float(grads["only_rank1"]) == pytest.approx(5.0)  # (0 + 10) / 2: rank 0 counts zero
        assert grads["unused"] is None  # no gradient on any rank: untouched, as in one process


def test_linear_decay_is_constant_then_linear_to_zero():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = linear_decay(opt, total_steps=10, decay_start=6)
    lrs = []
    for _ in range(10):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[:7] == [1.0] * 7 and lrs[7:] == pytest.approx([0.75, 0.5, 0.25])


def test_training_state_round_trip_continues_exactly(tmp_path):
    def run(model, opt, steps):
        for _ in range(steps):
            loss = (model(torch.randn(4, 3)) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        return model

    torch.manual_seed(0)
    straight = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(straight.parameters())
    run(straight, opt, 2)
    save_training_state(tmp_path / "s.pt", {"net": straight}, {"adam": opt}, {}, 2, {"note": "x"})
    expected = run(straight, opt, 3).weight.detach().clone()

    resumed = torch.nn.Linear(3, 2)
    opt2 = torch.optim.Adam(resumed.parameters())
    state = load_training_state(tmp_path / "s.pt", {"net": resumed}, {"adam": opt2}, {})
    assert state["step"] == 2 and state["metadata"] == {"note": "x"}
    assert torch.equal(run(resumed, opt2, 3).weight, expected)
