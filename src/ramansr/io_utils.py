"""Small file helpers shared by the stages, and the block size of cubes made a block of rows at a time."""

import contextlib
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

#: Rows of a cube made at a time where it is built block by block (the simulator's clean cubes,
#: prediction's rebuilt cube as :class:`ramansr.io.RowBlocks`): a block's temporaries stay small
#: (8 rows of a 1200 x 1200 x 1024 SR cube are 39 MB), not the size of the cube.
ROWS_PER_BLOCK = 8


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it into place on success.

    A killed or failed writer leaves the old file (or none), never half a file.
    The final file gets the mode a plain ``open()`` would give it (0666 less
    the umask), not mkstemp's private 0600, so a lab's group can read results.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def current_umask():
    """The process's umask (reading it means setting it, so it is set straight back)."""
    umask = os.umask(0)
    os.umask(umask)
    return umask


def write_json(data, path):
    """Write JSON atomically, with sorted keys for stable diffs."""
    with atomic_path(path) as tmp, open(tmp, "w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")


def read_json(path):
    """The JSON document in ``path``."""
    with open(path) as handle:
        return json.load(handle)


def write_text(text, path):
    """Write ``text`` atomically, ending it with one newline."""
    with atomic_path(path) as tmp, open(tmp, "w") as handle:
        handle.write(text.rstrip("\n") + "\n")


def write_csv(table, path, index=False):
    """Write a :class:`pandas.DataFrame` as CSV atomically (without its index unless asked)."""
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=index)


#: Timestamp of every member of the .npz files written here (the zip format's
#: earliest): equal arrays give equal bytes, whenever they are written.
NPZ_MEMBER_DATE = (1980, 1, 1, 0, 0, 0)


def save_npz(path, *, compress=True, **arrays):
    """Write arrays to an .npz atomically and byte-reproducibly.

    What ``np.savez_compressed`` (or, with ``compress=False``, ``np.savez``)
    writes: one ``<key>.npy`` member per array, readable by ``np.load``, but
    with the members in sorted order and a fixed timestamp, so equal arrays
    give equal bytes. Object arrays are refused (nothing here reads pickles).
    Deflate saves about a tenth of a float32 cube at 25-60 times the write
    time and 10 times the read time (benchmarks/bench_npz.py), so the
    temporary cubes between stages are stored uncompressed and the outputs a
    user keeps compressed.
    """
    compression = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", compression=compression) as archive:
        for key in sorted(arrays):
            member = zipfile.ZipInfo(f"{key}.npy", date_time=NPZ_MEMBER_DATE)
            member.compress_type = compression
            with archive.open(member, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.asanyarray(arrays[key]), allow_pickle=False)


def load_npz(path):
    """Read every array of an .npz into a dict (the file is closed on return)."""
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def save_scan_arrays(scan, path):
    """Store a :class:`ramansr.io.Scan` as plain arrays (the ``convert`` stage's temporary output).

    Keys: cube (rows, cols, channels) float32, wavenumbers (channels,),
    pixel_size_um (2,) with NaN when unknown, name, meta (JSON text).
    Uncompressed: the next stage reads it once and deletes it.
    """
    pixel_size = scan.pixel_size_um if scan.pixel_size_um is not None else (np.nan, np.nan)
    save_npz(
        path,
        compress=False,
        cube=np.asarray(scan.cube, dtype=np.float32),
        wavenumbers=np.asarray(scan.wavenumbers, dtype=np.float64),
        pixel_size_um=np.asarray(pixel_size, dtype=np.float64),
        name=np.array(scan.name),
        meta=np.array(json.dumps(scan.meta, default=str)),
    )
