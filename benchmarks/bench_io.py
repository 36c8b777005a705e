"""Benchmark ramansr.io.read_scan against a bare load of the same file.

Writes a 100 x 100 x 954 scan in three MATLAB containers (a float64
WITec-style level-5 export, a float32 v7.3 export written by write_scan, a
float64 plain cube) and a 100 x 100 x 1024 map as a WITec project (the real
LineScans.WIP with one graph resized through witio's own tag writer) and as a
WITec Table export; reads the real Renishaw .wdf (49 x 45 x 394) and Horiba
.xml (2 x 3 x 34) from ../shared/data as they are (no writer exists for
those formats). For each it prints the median time of ``read_scan`` over the
median time of the bare library call (``scipy.io.loadmat``, ``h5py``,
``witio`` read + array, ``pandas.read_csv``, ``rsciio`` file_reader), and the
peak memory of ``read_scan`` over the size of the stored array, measured both
with tracemalloc and as the growth of the peak RSS (VmHWM) in a fresh
subprocess (Linux).
Targets: MATLAB float64 export time ratio <= 1.5, memory ratio <= 3; every
instrument format time ratio <= 2.

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

from ramansr.io import Scan, read_scan, write_scan, write_table

ROWS, COLS, CHANNELS = 100, 100, 954
MAP_CHANNELS = 1024  # the instrument formats' map: 100 x 100 x 1024
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
WIP = SHARED / "witec" / "LineScans.WIP"
WDF = SHARED / "renishaw" / "renishaw_test_streamline.wdf"
HORIBA = SHARED / "horiba" / "jobinyvon_test_map_x3-y2.xml"

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
elif kind == "witio":
    import witio
    witio.read(path).find(class_name="TDGraph")[0].array()
elif kind == "pandas":
    import pandas
    pandas.read_csv(path, sep="\\t", header=None, skiprows=2, dtype=numpy.float64, engine="c").to_numpy()
elif kind.startswith("rsciio"):
    import importlib
    importlib.import_module(kind).file_reader(path)
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
    imageaxisscale[:] = [
        [np.arange(cols)[np.newaxis] * pixel_size_um, "µm"],
        [np.arange(rows)[np.newaxis] * pixel_size_um, "µm"],
    ]
    return {
        "name": "bench",
        "type": "image",
        "imagesize": np.array([[cols, rows]], dtype=np.uint16),
        "data": cube.reshape(rows * cols, channels),
        "axisscale": axisscale,
        "imageaxisscale": imageaxisscale,
    }


def resized_wip(path, cube):
    """The real project with its first graph holding ``cube`` (lines, points, channels); the second graph
    shrunk to one point, so that the file holds one map."""
    from witio import tag

    magic, root = tag.read_file(WIP)
    graphs = [node for node in _walk(root) if node.name == "TDGraph"]
    rows, cols, channels = cube.shape
    first, second = graphs
    for name, value in (("SizeX", cols), ("SizeY", rows), ("SizeGraph", channels)):
        first.find(name).data = np.array([value], dtype=np.int32)
    for name in ("LineValid", "LineChanged"):
        first.find(name).data = np.ones(rows, dtype=bool)
    # witio reads the data as (SizeGraph, SizeY, SizeX) in Fortran order: channel fastest, then line, then point
    first.find("GraphData").find("Data").data = np.frombuffer(
        np.ascontiguousarray(cube.transpose(1, 0, 2), dtype="<f4").tobytes(), dtype="u1"
    )
    second.find("SizeX").data = second.find("SizeY").data = np.array([1], dtype=np.int32)
    path.write_bytes(tag.write_bytes(magic, root))


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)


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
    output = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, kind, str(path), variable], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.splitlines()[-1])  # rosettasciio logs to stdout before it


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
        "case": label,
        "bare_ms": 1e3 * bare_s,
        "read_scan_ms": 1e3 * ours_s,
        "time_ratio": ours_s / bare_s,
        "bare_mem_ratio": tracemalloc_peak(bare) / stored_bytes,
        "mem_ratio": tracemalloc_peak(ours) / stored_bytes,
        "bare_rss_ratio": rss_growth(bare_kind, path, variable) / stored_bytes,
        "rss_ratio": rss_growth("read_scan", path) / stored_bytes,
    }


def instrument_rows(folder, rng, repeats):
    """The WITec project and Table export (100 x 100 x 1024) and the real Renishaw and Horiba files."""
    import pandas
    import witio
    from rsciio.jobinyvon import file_reader as horiba_reader
    from rsciio.renishaw import file_reader as renishaw_reader

    cube = rng.uniform(0, 1000, (ROWS, COLS, MAP_CHANNELS)).astype(np.float32)
    wavenumbers = np.linspace(100.0, 3200.0, MAP_CHANNELS)
    project = folder / "map.wip"
    resized_wip(project, cube)
    assert np.array_equal(read_scan(project).cube, cube), "the resized project does not hold the map"
    table = folder / "map.txt"
    write_table(Scan(cube, wavenumbers, name="bench"), table)

    def witio_bare():
        return witio.read(project).find(class_name="TDGraph")[0].array()

    def pandas_bare():
        return pandas.read_csv(table, sep="\t", header=None, skiprows=2, dtype=np.float64, engine="c").to_numpy()

    return [
        measure("witec project .wip", project, witio_bare, "witio", "", cube.nbytes, repeats),
        measure("witec Table .txt", table, pandas_bare, "pandas", "", cube.nbytes * 2, max(3, repeats // 3)),
        measure(
            "renishaw .wdf (real)",
            WDF,
            lambda: renishaw_reader(str(WDF)),
            "rsciio.renishaw",
            "",
            49 * 45 * 394 * 4,
            repeats,
        ),
        measure(
            "horiba .xml (real)",
            HORIBA,
            lambda: horiba_reader(str(HORIBA)),
            "rsciio.jobinyvon",
            "",
            2 * 3 * 34 * 8,
            repeats,
        ),
    ]


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
            measure(
                "witec mat5 float64", export, lambda: scipy.io.loadmat(export), "loadmat", "", cube.nbytes, repeats
            ),
            measure("witec v7.3 float32", v73, h5_bare, "h5py", "bench/data", cube.nbytes // 2, repeats),
            measure(
                "plain mat5 float64 cube", plain, lambda: scipy.io.loadmat(plain), "loadmat", "", cube.nbytes, repeats
            ),
        ]
        rows += instrument_rows(Path(folder), rng, repeats)
    print(
        f"read_scan vs bare load, MATLAB {ROWS}x{COLS}x{CHANNELS}, .wip/.txt {ROWS}x{COLS}x{MAP_CHANNELS}, "
        f"median of {repeats}; "
        "memory (tracemalloc peak, RSS peak growth) over the stored array"
    )
    header = (
        "case",
        "bare_ms",
        "read_scan_ms",
        "time_ratio",
        "bare_mem_ratio",
        "mem_ratio",
        "bare_rss_ratio",
        "rss_ratio",
    )
    print(f"{header[0]:<26}" + "".join(f"{name:>15}" for name in header[1:]))
    for row in rows:
        print(f"{row['case']:<26}" + "".join(f"{row[name]:>15.2f}" for name in header[1:]))


if __name__ == "__main__":
    main()
