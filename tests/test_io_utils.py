"""The shared file helpers: atomic writes that leave ordinary files behind."""

import os
import stat
import time

import numpy as np
import pytest

from ramansr.io_utils import atomic_path, load_npz, save_npz, write_json


@pytest.fixture
def umask():
    """Run the test under umask 022, then restore the caller's."""
    previous = os.umask(0o022)
    yield 0o022
    os.umask(previous)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_files_get_the_mode_plain_open_gives(tmp_path, umask):
    with open(tmp_path / "plain.txt", "w") as handle:
        handle.write("x")
    write_json({"a": 1}, tmp_path / "a.json")
    save_npz(tmp_path / "a.npz", x=np.zeros(3))
    assert mode_of(tmp_path / "plain.txt") == 0o644
    assert mode_of(tmp_path / "a.json") == 0o644
    assert mode_of(tmp_path / "a.npz") == 0o644


def test_atomic_files_follow_a_group_writable_umask(tmp_path):
    previous = os.umask(0o002)
    try:
        write_json({}, tmp_path / "a.json")
    finally:
        os.umask(previous)
    assert mode_of(tmp_path / "a.json") == 0o664


def test_a_failed_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "a.npz"
    save_npz(target, x=np.arange(3))
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        with open(temporary, "wb") as handle:
            handle.write(b"half")
        raise RuntimeError("killed")
    np.testing.assert_array_equal(load_npz(target)["x"], np.arange(3))
    assert [p.name for p in tmp_path.iterdir()] == ["a.npz"]


def test_npz_round_trips_and_equal_arrays_give_equal_bytes_whenever_written(tmp_path, monkeypatch):
    arrays = {"cube": np.arange(24, dtype=np.float32).reshape(2, 3, 4), "name": np.array("area 1"), "k": np.int64(3)}
    monkeypatch.setattr(time, "time", lambda: 1.7e9)
    save_npz(tmp_path / "first.npz", **arrays)
    # a day later, the same arrays given in another order
    monkeypatch.setattr(time, "time", lambda: 1.7e9 + 86400)
    save_npz(tmp_path / "second.npz", **dict(reversed(arrays.items())))
    assert (tmp_path / "first.npz").read_bytes() == (tmp_path / "second.npz").read_bytes()
    loaded = load_npz(tmp_path / "first.npz")
    assert loaded.keys() == arrays.keys()
    for key, value in arrays.items():
        np.testing.assert_array_equal(loaded[key], value)
        assert loaded[key].dtype == np.asarray(value).dtype


def test_npz_is_compressed_unless_asked_and_refuses_object_arrays(tmp_path):
    save_npz(tmp_path / "zeros.npz", x=np.zeros(1_000_000))
    assert (tmp_path / "zeros.npz").stat().st_size < 100_000
    save_npz(tmp_path / "stored.npz", compress=False, x=np.zeros(1_000_000))
    assert (tmp_path / "stored.npz").stat().st_size > 8_000_000
    np.testing.assert_array_equal(load_npz(tmp_path / "stored.npz")["x"], np.zeros(1_000_000))
    with pytest.raises(ValueError, match="pickle"):
        save_npz(tmp_path / "objects.npz", x=np.array([{"a": 1}], dtype=object))
    assert not (tmp_path / "objects.npz").exists()
