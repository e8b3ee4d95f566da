"""Ours against PyTorch's multiprocessing HOGWILD! pattern on the same MLP.

PyTorch's documented HOGWILD! recipe: ``model.share_memory()``, one process per worker, each
running ``SGD.step()`` on the shared parameters (``torch.set_num_threads(1)`` per process).
Same network (784-128-10, ReLU, softmax cross-entropy), batch 32, same dtype, synthetic data
of MNIST's shape. Needs ``pip install torch==2.13.0``. Configurations are interleaved within
each repeat; medians are reported.

Run: ``python benchmarks/bench_torch_hogwild.py [--seconds S] [--repeats R] [--dtype D]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from real_exec import RunConfig
from real_exec.executor.problems import make_problem
from real_exec.executor.runner import run


def _torch_worker(model, x, y, seconds, counter, start_barrier, dtype_name):  # type: ignore[no-untyped-def]
    import torch

    torch.set_num_threads(1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(int(time.time_ns() % 2**31))
    start_barrier.wait()
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        idx = torch.randint(0, x.shape[0], (32,), generator=gen)
        opt.zero_grad()
        loss_fn(model(x[idx]), y[idx]).backward()
        opt.step()
        n += 1
    with counter.get_lock():
        counter.value += n


def torch_hogwild(processes: int, seconds: float, dtype: str) -> float:
    import torch
    import torch.multiprocessing as mp

    torch_dtype = torch.float32 if dtype == "float32" else torch.float64
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((10, 784))
    labels = rng.integers(0, 10, 10000)
    x = torch.tensor(centers[labels] + 3.0 * rng.standard_normal((10000, 784)), dtype=torch_dtype)
    y = torch.tensor(labels)
    x.share_memory_()
    y.share_memory_()
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)).to(
        torch_dtype
    )
    model.share_memory()
    ctx = mp.get_context("fork")
    counter = ctx.Value("l", 0)
    barrier = ctx.Barrier(processes + 1)
    procs = [
        ctx.Process(target=_torch_worker, args=(model, x, y, seconds, counter, barrier, dtype))
        for _ in range(processes)
    ]
    for p in procs:
        p.start()
    barrier.wait()
    start = time.perf_counter()
    for p in procs:
        p.join()
    return counter.value / max(time.perf_counter() - start, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dtype", default="float32")
    args = parser.parse_args()
    problem = make_problem("mlp-784", np.random.default_rng(0), batch=32, dtype=args.dtype)
    rates: dict[str, list[float]] = {
        k: []
        for k in ("torch 1 process", "torch 2 processes", "ours hogwild 1 thread", "ours hogwild 2 threads")
    }
    for _ in range(args.repeats):
        rates["torch 1 process"].append(torch_hogwild(1, args.seconds, args.dtype))
        rates["torch 2 processes"].append(torch_hogwild(2, args.seconds, args.dtype))
        for threads in (1, 2):
            config = RunConfig(
                "hogwild", threads, eta=0.01, seconds=args.seconds, check_updates=False, sample_every=1e9
            )
            key = f"ours hogwild {threads} thread" + ("s" if threads > 1 else "")
            rates[key].append(run(config, problem).summary()["throughput"])
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(
        f"mlp-784 (784-128-10), batch 32, {args.dtype}; median of {args.repeats} runs of {args.seconds:g} s\n"
    )
    print("| configuration | updates/s (median) | min | max |")
    print("|---|---|---|---|")
    for k, v in rates.items():
        print(f"| {k} | {med[k]:,.0f} | {min(v):,.0f} | {max(v):,.0f} |")
    print(f"\nours / torch at 2 workers: {med['ours hogwild 2 threads'] / med['torch 2 processes']:.2f}x")


if __name__ == "__main__":
    main()
