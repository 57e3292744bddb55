import numpy as np
import pytest

from edgekit.data import cache as C
from edgekit.data.mnist import load_mnist_subset
from edgekit.preprocess import mnist_spec, run_batch


def test_cache_is_the_spec_interpretation_keyed_by_spec(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(C, "_MEMORY", {})
    imgs = load_mnist_subset()[0][:50]
    a = C.preprocess_cached(mnist_spec(28), imgs)
    np.testing.assert_array_equal(a, run_batch(mnist_spec(28), imgs))
    assert len(list((tmp_path / "preprocessed").glob("*.npy"))) == 1
    b = C.preprocess_cached(mnist_spec(32), imgs)  # another spec: another entry, other numbers
    assert b.shape == (50, 1, 32, 32) and len(list((tmp_path / "preprocessed").glob("*.npy"))) == 2
    monkeypatch.setattr(C, "_MEMORY", {})
    np.testing.assert_array_equal(C.preprocess_cached(mnist_spec(28), imgs), a)  # from disk
    c = C.preprocess_cached(mnist_spec(28), imgs[:49])  # other images: other entry
    assert c.shape[0] == 49 and len(list((tmp_path / "preprocessed").glob("*.npy"))) == 3


def test_corrupt_cache_entry_is_recomputed(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(C, "_MEMORY", {})
    imgs = load_mnist_subset()[0][:10]
    a = C.preprocess_cached(mnist_spec(28), imgs)
    (entry,) = (tmp_path / "preprocessed").glob("*.npy")
    entry.write_bytes(b"garbage")
    monkeypatch.setattr(C, "_MEMORY", {})
    np.testing.assert_array_equal(C.preprocess_cached(mnist_spec(28), imgs), a)
