"""Benchmark the .npz writer on a paper-sized cube: compressed against stored.

Writes and reads a simulated 100 x 100 x 954 float32 LR cube (the size the
``convert`` and ``preprocess`` stages pass on) with ``ramansr.io_utils.save_npz``
both ways and prints a table: best-of-N write and read time, file size, and the
ratios compressed / stored. The machine's other load inflates both sides alike,
so read the ratios.

Run: python benchmarks/bench_npz.py [--repeats 5]
"""

import argparse
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np

from ramansr.io_utils import load_npz, save_npz
from ramansr.simulate import resolve_settings, simulate_area


def best_of(repeats, action):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    cube = simulate_area(resolve_settings({}), "A", 1)[0].cube.astype(np.float32)
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        for compress in (True, False):
            path = Path(folder) / f"cube_{compress}.npz"
            write = best_of(args.repeats, partial(save_npz, path, compress=compress, cube=cube))
            read = best_of(args.repeats, partial(load_npz, path))
            rows[compress] = (write, read, path.stat().st_size / 1e6)
    print(f"cube {cube.shape} float32, {cube.nbytes / 1e6:.1f} MB, best of {args.repeats}")
    print(f"| {'npz':<10} | {'write (s)':>9} | {'read (s)':>8} | {'size (MB)':>9} |")
    print(f"|{'-' * 12}|{'-' * 11}|{'-' * 10}|{'-' * 11}|")
    for compress, (write, read, size) in rows.items():
        print(f"| {'compressed' if compress else 'stored':<10} | {write:9.3f} | {read:8.3f} | {size:9.1f} |")
    (cw, cr, cs), (sw, sr, ss) = rows[True], rows[False]
    print(f"| {'ratio c/s':<10} | {cw / sw:9.1f} | {cr / sr:8.1f} | {cs / ss:9.2f} |")


if __name__ == "__main__":
    main()
