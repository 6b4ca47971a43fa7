"""DataLoader workers are not forks of the caller: a lock the caller holds does not follow them."""
import threading

from torch.utils.data import DataLoader, Dataset

from facebench.worker_processes import worker_context

_LOCK = threading.Lock()


class _LockedItems(Dataset):
    """Items that need `_LOCK`, as OpenCV's first decode needs locks of its own."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> int:
        with _LOCK:
            return index


def test_workers_do_not_inherit_a_lock_held_by_the_parent():
    # A forked worker would start with _LOCK held and no thread to release it: the loader times out.
    loader = DataLoader(_LockedItems(), batch_size=2, num_workers=2, timeout=60,
                        multiprocessing_context=worker_context(2))
    with _LOCK:  # held while the workers start, as another thread of the parent may hold one
        batches = [batch.tolist() for batch in loader]
    assert batches == [[0, 1], [2, 3]]


def test_no_start_method_without_workers():
    assert worker_context(0) is None
