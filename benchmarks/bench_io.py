"""Benchmark ramansr.io.read_scan against a bare load of the same file.

Writes a 100 x 100 x 954 scan in three containers (a float64 WITec-style
level-5 export, a float32 v7.3 export written by write_scan, a float64 plain
cube), then prints, for each, the median time of ``read_scan`` over the
median time of the bare load (``scipy.io.loadmat`` or ``h5py``), and the peak
memory of ``read_scan`` over the size of the stored array, measured both with
tracemalloc and as the growth of the peak RSS (VmHWM) in a fresh subprocess
(Linux).
Target for the float64 export: time ratio <= 1.5, memory ratio <= 3.

Run: python benchmarks/bench_io.py [--repeats N]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import scipy.io

from ramansr.io import Scan, read_scan, write_scan

ROWS, COLS, CHANNELS = 100, 100, 954

# Run in a subprocess: growth of its peak RSS (VmHWM) during one load, in bytes. The peak is
# reset first (clear_refs 5) because ru_maxrss would carry the parent's peak across exec.
_RSS_PROBE = """
import json, sys
import h5py, numpy, scipy.io
from ramansr.io import read_scan


def status_bytes(key):
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(key + ":"))
    return int(line.split()[1]) * 1024


kind, path, variable = sys.argv[1:4]
with open("/proc/self/clear_refs", "w") as clear_refs:
    clear_refs.write("5")
before = status_bytes("VmRSS")
if kind == "read_scan":
    read_scan(path)
elif kind == "loadmat":
    scipy.io.loadmat(path)
else:
    with h5py.File(path, "r") as file:
        file[variable][()]
print(json.dumps(status_bytes("VmHWM") - before))
"""


def export_struct(cube, wavenumbers, pixel_size_um):
    """A WITec-style struct holding ``cube`` in its own dtype (exports may be float64)."""
    rows, cols, channels = cube.shape
    axisscale = np.empty((2, 2), dtype=object)
    axisscale[:] = [[np.zeros((0, 0)), ""], [wavenumbers[np.newaxis], "rel. 1/cm"]]
    imageaxisscale = np.empty((2, 2), dtype=object)
    imageaxisscale[:] = [[np.arange(cols)[np.newaxis] * pixel_size_um, "µm"],
                         [np.arange(rows)[np.newaxis] * pixel_size_um, "µm"]]
    return {"name": "bench", "type": "image", "imagesize": np.array([[cols, rows]], dtype=np.uint16),
            "data": cube.reshape(rows * cols, channels), "axisscale": axisscale,
            "imageaxisscale": imageaxisscale}


def seconds(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def tracemalloc_peak(function):
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def rss_growth(kind, path, variable=""):
    output = subprocess.run([sys.executable, "-c", _RSS_PROBE, kind, str(path), variable],
                            check=True, capture_output=True, text=True).stdout
    return json.loads(output)


def measure(label, path, bare, bare_kind, variable, stored_bytes, repeats):
    def ours():
        return read_scan(path)

    ours(), bare()  # warm the page cache and imports
    bare_times, our_times = [], []
    for _ in range(repeats):  # interleaved so drifting machine load hits both alike
        bare_times.append(seconds(bare))
        our_times.append(seconds(ours))
    bare_s, ours_s = statistics.median(bare_times), statistics.median(our_times)
    return {
        "case": label, "bare_ms": 1e3 * bare_s, "read_scan_ms": 1e3 * ours_s, "time_ratio": ours_s / bare_s,
        "bare_mem_ratio": tracemalloc_peak(bare) / stored_bytes,
        "mem_ratio": tracemalloc_peak(ours) / stored_bytes,
        "bare_rss_ratio": rss_growth(bare_kind, path, variable) / stored_bytes,
        "rss_ratio": rss_growth("read_scan", path) / stored_bytes,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    repeats = parser.parse_args().repeats
    rng = np.random.default_rng(0)
    cube = rng.uniform(0, 1000, (ROWS, COLS, CHANNELS))
    wavenumbers = np.linspace(100.0, 3200.0, CHANNELS)
    with tempfile.TemporaryDirectory() as folder:
        export = Path(folder) / "export_float64.mat"
        scipy.io.savemat(export, {"bench": export_struct(cube, wavenumbers, 0.5)})
        v73 = Path(folder) / "export_v73.mat"
        write_scan(Scan(cube, wavenumbers, (0.5, 0.5), "bench"), v73, v73=True)
        plain = Path(folder) / "plain_float64.mat"
        scipy.io.savemat(plain, {"cube": cube, "wavenumbers": wavenumbers})

        def h5_bare():
            with h5py.File(v73, "r") as file:
                return file["bench/data"][()]

        rows = [
            measure("witec mat5 float64", export, lambda: scipy.io.loadmat(export), "loadmat", "",
                    cube.nbytes, repeats),
            measure("witec v7.3 float32", v73, h5_bare, "h5py", "bench/data", cube.nbytes // 2, repeats),
            measure("plain mat5 float64 cube", plain, lambda: scipy.io.loadmat(plain), "loadmat", "",
                    cube.nbytes, repeats),
        ]
    print(f"read_scan vs bare load, {ROWS}x{COLS}x{CHANNELS}, median of {repeats}; "
          "memory (tracemalloc peak, RSS peak growth) over the stored array")
    header = ("case", "bare_ms", "read_scan_ms", "time_ratio", "bare_mem_ratio", "mem_ratio",
              "bare_rss_ratio", "rss_ratio")
    print(f"{header[0]:<26}" + "".join(f"{name:>15}" for name in header[1:]))
    for row in rows:
        print(f"{row['case']:<26}" + "".join(f"{row[name]:>15.2f}" for name in header[1:]))


if __name__ == "__main__":
    main()
