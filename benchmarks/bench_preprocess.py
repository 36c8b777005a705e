"""Benchmark the despike step's share of the preprocess stage.

Simulates one 100 x 100 scan with 1024 channels and cosmic rays (the
simulator's HR scan, the brighter one), writes it as the convert stage does,
and times the whole preprocess stage (``preprocess_scan_file``: read, align,
despike, smooth, scale, write) with despiking on and off, plus the despike
step alone. Target: despiking adds at most 25 % to the stage.

Run: python benchmarks/bench_preprocess.py [--repeats N]
"""

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from ramansr.geometry.areas import area_geometry, save_scan_header, scan_header
from ramansr.io_utils import save_scan_arrays, write_json
from ramansr.preprocess import despike, preprocess_scan_file
from ramansr.simulate import simulate_area

#: The pipeline's preprocessing settings (despiking is switched per row below).
SETTINGS = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())["preprocess"]


def median_seconds(function, repeats):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    simulation = {
        "samples": ["C"],
        "lowres": {"points": 30},
        "highres": {"points": 100},
        "channels": 1024,
        "spikes": {"enabled": True, "rate": 0.005},
    }
    lowres, highres, _ = simulate_area(simulation, "C", 1)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        save_scan_arrays(highres, folder / "highres.npz")
        save_scan_header(lowres, folder / "lowres.json")
        record = area_geometry(scan_header(lowres), scan_header(highres), "C/1")
        write_json(record, folder / "geometry.json")
        rows = []
        for label, enabled in (("preprocess, despike off", False), ("preprocess, despike on", True)):
            settings = {**SETTINGS, "despike": {"enabled": enabled, "threshold": 4.0}}
            seconds = median_seconds(
                lambda settings=settings: preprocess_scan_file(
                    folder / "highres.npz",
                    folder / "cube.npz",
                    folder / "spectra.npz",
                    settings,
                    scan="highres",
                    geometry_path=folder / "geometry.json",
                    lowres_header_path=folder / "lowres.json",
                ),
                args.repeats,
            )
            rows.append((label, seconds))
        rows.append(("despike alone", median_seconds(lambda: despike(highres.cube, threshold=4.0), args.repeats)))
    base = rows[0][1]
    print(f"HR scan {highres.cube.shape}, median of {args.repeats} runs")
    print(f"{'step':<26}{'seconds':>10}{'vs despike off':>16}")
    for label, seconds in rows:
        print(f"{label:<26}{seconds:>10.3f}{seconds / base:>15.2f}x")
    overhead = rows[1][1] / base - 1
    print(
        f"despike adds {overhead:.0%} to the preprocess stage (target <= 25 %): {'ok' if overhead <= 0.25 else 'OVER'}"
    )
    print(json.dumps({"shape": list(highres.cube.shape), "seconds": dict(rows), "overhead": overhead}))


if __name__ == "__main__":
    main()
