"""Checks on the samples sheet that need the scan files themselves (the workflow reads the sheet).

A scan pair listed twice, under two area names (``F/2`` and ``F/02``) or as a
copy of the same file, would pass every other check and, with some dataset
seeds, put one copy in training and the other in test.
"""

import hashlib
import os
from collections import defaultdict


def _digest(path):
    """SHA-256 of a file's bytes."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def duplicate_scans(entries):
    """Pairs of sheet entries that name one file, or files with the same bytes.

    Parameters
    ----------
    entries : list of (label, path)
        Each scan cell of the sheet: how to name it (``"F/2 lowres"``) and its
        path (existing files, relative paths already resolved).

    Returns
    -------
    list of str
        One line per duplicate: both labels and paths, and whether the path
        or the content is the same; empty when every file is distinct.
    """
    problems = []
    by_path = defaultdict(list)
    for label, path in entries:
        by_path[os.path.realpath(path)].append((label, path))
    for same in by_path.values():
        problems += [f"{same[0][0]} ({same[0][1]}) and {label} ({path}) are the same file" for label, path in same[1:]]
    # files with equal bytes have equal sizes: only those are read and hashed
    by_size = defaultdict(list)
    for real, same in by_path.items():
        by_size[os.path.getsize(real)].append(same[0])
    by_digest = defaultdict(list)
    for candidates in by_size.values():
        if len(candidates) > 1:
            for label, path in candidates:
                by_digest[_digest(path)].append((label, path))
    for same in by_digest.values():
        problems += [
            f"{same[0][0]} ({same[0][1]}) and {label} ({path}) have the same content (SHA-256)"
            for label, path in same[1:]
        ]
    return problems


def check_unique_scans(sheet, sheet_path, scans=("lowres", "highres")):
    """Refuse a samples sheet that lists a scan file twice, by path or by content.

    Parameters
    ----------
    sheet : pandas.DataFrame
        The sheet with ``sample``, ``area`` and the ``scans`` columns, paths resolved.
    sheet_path : str
        For the message.
    scans : sequence of str

    Raises
    ------
    ValueError
        Naming both rows (sample/area and column) and files of every duplicate.
    """
    entries = [(f"{row['sample']}/{row['area']} {scan}", row[scan]) for _, row in sheet.iterrows() for scan in scans]
    problems = duplicate_scans(entries)
    if problems:
        raise ValueError(
            f"{sheet_path}: a scan is listed twice (one measurement in two areas could land in training and "
            "test): " + "; ".join(problems)
        )
