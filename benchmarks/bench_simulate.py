"""Benchmark ramansr.simulate.write_area at the paper's geometry.

Simulates and writes ``--areas`` areas (100 x 100 LR and HR points, 954
channels by default) with ``--workers`` processes, one fresh process per
area as Snakemake's ``--cores 2`` would run them, and prints a table: wall and CPU
seconds per area (CPU time is immune to other load on the machine), the
worker's peak RSS, and the wall time of the whole batch with
its extrapolation to the full default set (6 samples x 4 areas).
Targets: full set <= 120 s with 2 workers, peak RSS <= 2 GB per job.

Run: python benchmarks/bench_simulate.py [--areas 4] [--workers 2] [--points 100] [--channels 954]
"""

import argparse
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

from ramansr import simulate


def simulate_one(job):
    """Write one area; return (sample, area, wall s, CPU s, peak RSS in MiB) of this process."""
    settings, sample, area, folder = job
    start, cpu_start = time.perf_counter(), time.process_time()
    stem = Path(folder) / f"{sample}{area}"
    simulate.write_area(settings, sample, area, f"{stem}_lr.mat", f"{stem}_hr.mat", f"{stem}_truth.npz")
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB
    return sample, area, seconds, cpu_seconds, peak_mib


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, default=4, help="areas to simulate (spread over the samples)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--points", type=int, default=100, help="LR and HR points per line")
    parser.add_argument("--channels", type=int, default=954)
    args = parser.parse_args()

    settings = simulate.default_settings()
    settings["lowres"]["points"] = settings["highres"]["points"] = args.points
    settings["channels"] = args.channels
    samples = settings["samples"]
    total_areas = len(samples) * settings["areas"]

    with tempfile.TemporaryDirectory() as folder:
        jobs = [(settings, samples[i % len(samples)], 1 + i // len(samples), folder) for i in range(args.areas)]
        context = multiprocessing.get_context("spawn")  # a fresh interpreter per job, like Snakemake
        start = time.perf_counter()
        with context.Pool(args.workers, maxtasksperchild=1) as pool:
            results = pool.map(simulate_one, jobs, chunksize=1)
        wall = time.perf_counter() - start

    print(f"geometry: {args.points}x{args.points} LR + HR points, {args.channels} channels, {args.workers} workers")
    print(f"{'sample':>6} {'area':>4} {'wall s':>8} {'CPU s':>8} {'peak RSS MiB':>13}")
    for sample, area, seconds, cpu_seconds, peak in results:
        print(f"{sample:>6} {area:>4} {seconds:8.2f} {cpu_seconds:8.2f} {peak:13.0f}")
    mean_wall = sum(r[2] for r in results) / len(results)
    mean_cpu = sum(r[3] for r in results) / len(results)
    print(
        f"mean per area: wall {mean_wall:.2f} s, CPU {mean_cpu:.2f} s; "
        f"max peak RSS {max(r[4] for r in results):.0f} MiB"
    )
    print(
        f"CPU-bound estimate of the full set: {mean_cpu * total_areas / args.workers:.0f} s "
        f"with {args.workers} idle cores"
    )
    print(
        f"batch wall {wall:.1f} s for {args.areas} areas (incl. process start-up); "
        f"full set of {total_areas} areas ~ {wall * total_areas / args.areas:.0f} s "
        f"with {args.workers} workers (target <= 120 s)"
    )


if __name__ == "__main__":
    main()
