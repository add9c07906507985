"""What the benchmark scripts share: the median wall time of a function after a warm-up."""
import time

import torch


def timed(fn, repeats: int, device: str = 'cpu') -> float:
    """Median seconds of ``fn()`` over ``repeats`` runs after one warm-up run (CUDA work is
    synchronised before and after each run)."""
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        if device == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]
