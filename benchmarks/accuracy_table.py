"""Test accuracy reached in a fixed wall time, for the four algorithms: the workloads' check.

Run: ``python benchmarks/accuracy_table.py [--seconds S] [--threads M] -- RUN-OPTIONS``, e.g.
``python benchmarks/accuracy_table.py --seconds 60 -- --model lenet --dataset fashion-mnist``.
Each algorithm runs once, one after the other, through the command line (``asgd run ...
--json``, in a fresh process); prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

ALGORITHMS = ("lock", "hogwild", "leashed", "sync")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--algos", default=",".join(ALGORITHMS))
    parser.add_argument("run_options", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    options = [o for o in args.run_options if o != "--"]
    print(f"`asgd run {' '.join(options)} --threads {args.threads} --seconds {args.seconds:g}`\n")
    print("| algo | test accuracy | test loss | gradients | gradients/s | epochs | mean staleness |")
    print("|---|---|---|---|---|---|---|")
    for algo in args.algos.split(","):
        command = [sys.executable, "-m", "real_exec", "run", "--algo", algo, "--threads", str(args.threads)]
        command += [*options, "--seconds", str(args.seconds), "--json"]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"| {algo} | failed: {done.stderr.strip().splitlines()[-1]} | | | | | |")
            continue
        doc = json.loads(done.stdout)
        epochs = len(doc.get("epoch_loss") or [])
        print(
            f"| {algo} | {doc['test_accuracy']:.4f} | {doc['test_loss']:.4f} | {doc['gradients']:,} | "
            f"{doc['throughput']:,.0f} | {epochs} | {doc['tau_mean']:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
