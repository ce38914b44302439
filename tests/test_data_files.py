"""Every kind of bad data file is refused with a DataError that names the file and says where."""

from __future__ import annotations

import io
import os
import pickle

import numpy as np
import pytest

from nncli.datasets import load_file
from nncli.errors import DataError

# (file name, contents, target, fragment the message must contain); rows are numbered as lines of the file
BAD_CSV = [
    ("empty.csv", "", None, "file is empty"),
    ("blank.csv", "\n  \n\n", None, "file is empty"),
    ("headless.csv", "1,2,0\n3,4,1\n", None, "no header row; row 1 holds numbers (1, 2, 0)"),
    ("nameless.csv", "x1,,y\n1,2,0\n3,4,1\n", None, "column 2 has no name in the header (row 1)"),
    ("twice.csv", "x,x,y\n1,2,0\n3,4,1\n", None, "column name 'x' appears twice"),
    ("target.csv", "a,b,y\n1,2,0\n3,4,1\n", "label", "no column 'label'; columns: a, b, y"),
    ("word.csv", "x1,x2,y\n1,2,0\n3,abc,1\n", None, "row 3, column 'x2': 'abc' is not a number"),
    ("comma.csv", 'x1,y\n1,0\n"1,5",1\n', None, "row 3, column 'x1': '1,5' is not a number"),
    ("hole.csv", "x1,x2,y\n1,,0\n3,4,1\n", None, "row 2, column 'x2' is empty"),
    ("nan.csv", "x1,x2,y\n1,2,0\nnan,4,1\n", None, "row 3, column 'x1': 'nan' is not finite"),
    ("inf.csv", "x1,x2,y\n1,2,0.5\n3,4,-inf\n", None, "row 3, column 'y': '-inf' is not finite"),
    ("ragged.csv", "x1,x2,y\n1,2,0\n3,4\n5,6,1\n", None, "row 3 has 2 values, expected 3"),
    ("long.csv", "x1,x2,y\n1,2,0\n3,4,1\n5,6,1,7\n", None, "row 4 has 4 values, expected 3"),
    ("gap.csv", "x,y\n1,0\n\n\n2,oops\n", None, "row 5, column 'y': 'oops' is not a number"),
    ("quoted.csv", 'x,y\n"1\n",0\n2,oops\n', None, "row 4, column 'y': 'oops'"),
    ("one.csv", "x1,y\n1,0\n", None, "needs at least 2 data rows, found 1"),
    ("header_only.csv", "x1,y\n", None, "needs at least 2 data rows, found 0"),
    ("lonely.csv", "y\n1\n2\n", None, "only the target column 'y'"),
    ("numbered.csv", "a,2.5,y\n1,2,0\n3,4,1\n", None, "no header row; row 1 holds numbers (2.5)"),
    ("mixed.csv", "x,y\n1,0\n2,1\n3,cat\n", None, "row 4, column 'y': 'cat' is not a number"),
    ("constant.csv", "x,y\n0.1,0\n0.2,0\n", None, "only one class (0)"),
]


@pytest.mark.parametrize(("name", "text", "target", "fragment"), BAD_CSV, ids=[c[0] for c in BAD_CSV])
def test_bad_csv(tmp_path, name, text, target, fragment):
    path = tmp_path / name
    path.write_text(text, newline="")
    with pytest.raises(DataError) as err:
        load_file(path, target=target)
    assert str(path) in str(err.value)
    assert fragment in str(err.value)


def _npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _npz(**arrays):
    return lambda path: np.savez(path, **arrays)


X4, Y4 = np.arange(8.0).reshape(4, 2), np.array([0, 1, 0, 1])
BAD_NPZ = [
    ("no_x.npz", _npz(y=Y4), "no array 'X'; arrays: y"),
    ("no_y.npz", _npz(X=X4, labels=Y4), "no array 'y'; arrays: X, labels"),
    ("mismatch.npz", _npz(X=X4, y=Y4[:3]), "X has 4 samples but y has 3"),
    ("flat.npz", _npz(X=np.arange(4.0), y=Y4), "array 'X' must be 2-D (samples, features) or 3-D"),
    ("cube.npz", _npz(X=X4, y=np.zeros((4, 1, 1))), "array 'y' must be 1-D or 2-D"),
    (
        "nan.npz",
        _npz(X=np.where(X4 == 3, np.nan, X4), y=Y4),
        "array 'X' has the non-finite value nan at index (1, 1)",
    ),
    (
        "inf_y.npz",
        _npz(X=X4, y=np.array([0.5, np.inf, 1, 2])),
        "array 'y' has the non-finite value inf at index (1,)",
    ),
    ("text.npz", _npz(X=np.array([["a", "b"]] * 4), y=Y4), "array 'X' has dtype <U1; expected numbers"),
    ("task.npz", _npz(X=X4, y=Y4, task=np.array("clustering")), "task 'clustering' is not one of"),
    (
        "classes.npz",
        _npz(X=X4, y=Y4, task=np.array("classification"), n_classes=np.array([2])),
        "'n_classes' must be a single int",
    ),
    (
        "label_range.npz",
        _npz(X=X4, y=Y4 * 3, n_classes=np.array(3)),
        "label 3 is out of range for n_classes=3",
    ),
    (
        "tokens.npz",
        _npz(X=np.array([[0, 5]] * 4), y=Y4, vocab_size=np.array(5)),
        "tokens in 'X' must lie in 0..4",
    ),
    ("float_tokens.npz", _npz(X=X4, y=Y4, vocab_size=np.array(8)), "token array 'X' must be 2-D integers"),
    ("single.npz", _npz(X=X4[:1], y=Y4[:1]), "needs at least 2 samples, found 1"),
    ("labels_2d.npz", _npz(X=X4, y=np.zeros((4, 2), dtype=np.int64) + [0, 1]), "labels 'y' must be 1-D"),
    ("names.npz", _npz(X=X4, y=Y4, feature_names=np.array(["a"])), "'feature_names' must hold 2 strings"),
    (
        "garbage.npz",
        lambda path: path.write_bytes(b"PK\x03\x04 not really a zip"),
        "not a readable .npz archive",
    ),
    ("plain.npz", lambda path: path.write_text("X,y\n1,0\n"), "not an .npz archive"),
    ("npy.npz", lambda path: path.write_bytes(_npy_bytes(X4)), "holds a single .npy array"),
]


@pytest.mark.parametrize(("name", "write", "fragment"), BAD_NPZ, ids=[c[0] for c in BAD_NPZ])
def test_bad_npz(tmp_path, name, write, fragment):
    path = tmp_path / name
    write(path)
    with pytest.raises(DataError) as err:
        load_file(path)
    assert str(path) in str(err.value)
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda tmp: tmp / "absent.csv", "no such file"),
        (lambda tmp: tmp, "not a file"),
        (
            lambda tmp: _touch(tmp / "data.txt", b"x,y\n1,0\n"),
            "unsupported file type '.txt'; nncli reads .csv and .npz",
        ),
        (lambda tmp: _touch(tmp / "latin.csv", b"x,caf\xe9\n1,0\n2,1\n"), "not UTF-8 text"),
        (lambda tmp: _touch(tmp / "nul.csv", b"x,y\n1,0\n2\x00,1\n"), "row 3"),
    ],
    ids=["missing", "directory", "suffix", "encoding", "nul"],
)
def test_unreadable_files(tmp_path, make, fragment):
    path = make(tmp_path)
    with pytest.raises(DataError) as err:
        load_file(path)
    assert str(path) in str(err.value) and fragment in str(err.value)


def _touch(path, data: bytes):
    path.write_bytes(data)
    return path


def test_target_option_is_for_csv_only(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, X=X4, y=Y4)
    with pytest.raises(DataError, match="a target column is for CSV"):
        load_file(path, target="y")


class _Payload:
    """Unpickling this runs os.mkdir(marker): proof that a loader executed code from the file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (self.marker,)


@pytest.mark.parametrize("key", ["X", "y"])
def test_pickled_object_array_is_refused_without_running_it(tmp_path, key):
    marker = tmp_path / "pwned"
    payload = np.array([_Payload(str(marker))] * 4, dtype=object)
    arrays = {"X": X4, "y": Y4, key: payload}
    path = tmp_path / "evil.npz"
    np.savez(path, **arrays)  # numpy pickles the object array into the archive

    with pytest.raises(DataError) as err:
        load_file(path)
    assert f"array '{key}' holds Python objects (a pickle)" in str(err.value) and str(path) in str(err.value)
    assert not marker.exists()

    # the payload is live: loading with pickles allowed would have run it
    with np.load(path, allow_pickle=True) as npz:
        npz[key]
    assert marker.is_dir()


def test_raw_pickle_named_npz_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps(_Payload(str(marker))))
    with pytest.raises(DataError, match="not an .npz archive"):
        load_file(path)
    assert not marker.exists()
