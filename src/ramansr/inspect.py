"""Look at scan files before writing the samples sheet: ``ramansr-inspect FILE...``.

For each file (and each spectral object in a file that holds several): the
format, the object read and the other candidates, the grid, pixel size,
channels, axis range and direction, dtype, NaN/inf count, intensity range and
an ASCII preview of the mean-intensity image. ``--png OUT.png`` also writes
the mean-intensity image and the mean spectrum (``OUT_2.png``... for further
files or objects). Exit status 1 when any file cannot be read.

Also ``python -m ramansr.inspect FILE...``.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from ramansr.io import FORMATS, ScanFormatError, detect_format, read_scan
from ramansr.io_utils import atomic_path

_SHADES = " .:-=+*#%@"
_PREVIEW_WIDTH = 48


def describe(scan, kind):
    """The text block for one scan (without preview)."""
    rows, cols, channels = scan.cube.shape
    axis = scan.wavenumbers
    direction = "increasing" if axis[-1] > axis[0] else "decreasing"
    finite = np.isfinite(scan.cube)
    others = [name for name in scan.meta.get("candidates", []) if name != scan.meta.get("object")]
    pixel = (
        "unknown"
        if scan.pixel_size_um is None
        else f"{scan.pixel_size_um[0]:.4g} x {scan.pixel_size_um[1]:.4g} um (dy x dx)"
    )
    lines = [
        ("format", f"{kind} ({FORMATS[kind]})" + (f", {scan.meta['format']}" if kind == "mat" else "")),
        (
            "object",
            (scan.meta.get("object") or scan.meta.get("variable") or scan.name)
            + (f" (other candidates: {', '.join(others)})" if others else ""),
        ),
        ("grid", f"{rows} lines x {cols} points"),
        ("pixel size", pixel),
        ("channels", str(channels)),
        (
            "axis",
            f"{axis[0]:.1f} -> {axis[-1]:.1f} rel. 1/cm ({direction})"
            + (f"; {scan.meta['converted']}" if "converted" in scan.meta else ""),
        ),
        ("dtype", f"{scan.cube.dtype} (file: {scan.meta.get('original_dtype', '?')})"),
        ("NaN/inf", str(int(finite.size - np.count_nonzero(finite)))),
        ("intensity", f"{np.nanmin(scan.cube):.4g} .. {np.nanmax(scan.cube):.4g}"),
    ]
    return "\n".join(f"  {label:<11} {value}" for label, value in lines)


def ascii_preview(image, width=_PREVIEW_WIDTH):
    """The image as text, dark to bright between its 2nd and 98th percentiles; two characters per pixel across."""
    step = max(1, int(np.ceil(image.shape[1] / (width // 2))))
    small = image[::step, ::step]
    low, high = np.nanpercentile(small, [2, 98])  # one hot pixel would leave the rest blank
    levels = (
        np.zeros(small.shape, int)
        if high == low
        else np.round(np.clip((small - low) / (high - low), 0, 1) * (len(_SHADES) - 1)).astype(int)
    )
    return "\n".join("    |" + "".join(_SHADES[level] * 2 for level in row) + "|" for row in levels)


def write_png(scan, path):
    """Mean-intensity image and mean spectrum, side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    shown = left.imshow(scan.cube.mean(axis=2), cmap="viridis", interpolation="nearest")
    figure.colorbar(shown, ax=left, shrink=0.8)
    left.set_title(f"{scan.name}: mean intensity", fontsize=9)
    left.set_xlabel("point (x)")
    left.set_ylabel("line (y)")
    right.plot(scan.wavenumbers, scan.cube.mean(axis=(0, 1)), linewidth=0.8)
    right.set_xlabel("Raman shift (rel. 1/cm)")
    right.set_title("mean spectrum", fontsize=9)
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=110, format="png")
    plt.close(figure)


def inspect_file(path, variable=None, image_shape=None):
    """[(title, text block, scan)] for a file, one per spectral object; raises ScanFormatError."""
    kind = detect_format(path)
    try:
        scans = [
            read_scan(path, variable, image_shape, choose_with="--variable", shape_from="--image-shape 'rows x cols'")
        ]
    except ScanFormatError as error:
        if variable is not None or not error.candidates:
            raise
        scans = [read_scan(path, candidate, image_shape) for candidate in error.candidates]  # one block each
    blocks = []
    for scan in scans:
        image = scan.cube.mean(axis=2)
        blocks.append(
            (f"{path}", describe(scan, kind) + "\n  preview     mean intensity\n" + ascii_preview(image), scan)
        )
    return blocks


def _png_path(base, index):
    base = Path(base)
    return base if index == 1 else base.with_name(f"{base.stem}_{index}{base.suffix}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="ramansr-inspect", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="scan files (.mat, .wip/.wid, .txt, .wdf, .xml)")
    parser.add_argument("--variable", help="object or variable to read when a file holds several")
    parser.add_argument(
        "--image-shape",
        help="'rows x cols' for a Table export without header lines ('rows x cols, y fastest' or 'x fastest' "
        "where its pixel order cannot be found)",
    )
    parser.add_argument("--png", help="also write the mean image and mean spectrum to this PNG")
    args = parser.parse_args(argv)
    from ramansr.io import parse_image_shape

    shape = parse_image_shape(args.image_shape)
    failed, written = False, 0
    for path in args.files:
        try:
            blocks = inspect_file(Path(path), args.variable, shape)
        except (ScanFormatError, FileNotFoundError) as error:
            print(f"{path}\n  error       {error}\n")
            failed = True
            continue
        for title, text, scan in blocks:
            print(f"{title}\n{text}\n")
            if args.png:
                written += 1
                write_png(scan, _png_path(args.png, written))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
