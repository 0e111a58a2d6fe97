"""skvae.datasets: Fashion-MNIST from Debian's files, and clear errors for broken files."""

import gzip
import os

import numpy as np
import pytest

from skvae.datasets import FASHION_MNIST_CLASSES, load_fashion_mnist, read_idx

FASHION_HOME = "/usr/share/datasets/fashion-mnist"
needs_fashion = pytest.mark.skipif(
    not os.path.isdir(FASHION_HOME),
    reason="Debian package dataset-fashion-mnist not installed",
)

IMAGES = {"train": "train-images-idx3-ubyte", "test": "t10k-images-idx3-ubyte"}
LABELS = {"train": "train-labels-idx1-ubyte", "test": "t10k-labels-idx1-ubyte"}


def idx_bytes(array, magic=None):
    """An IDX file of unsigned bytes holding ``array``."""
    array = np.asarray(array, dtype=np.uint8)
    magic = 0x0800 | array.ndim if magic is None else magic
    header = magic.to_bytes(4, "big")
    header += b"".join(int(size).to_bytes(4, "big") for size in array.shape)
    return header + array.tobytes()


def write(folder, stem, payload, compressed):
    path = folder / (stem + ".gz" if compressed else stem)
    if compressed:
        with gzip.open(path, "wb") as f:
            f.write(payload)
    else:
        path.write_bytes(payload)
    return path


def fake_fashion(folder, compressed=True, n_train=5, n_test=3):
    """Four IDX files with the real names and a few random images; returns the arrays."""
    rng = np.random.RandomState(0)
    arrays = {}
    for part, n in (("train", n_train), ("test", n_test)):
        images = rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
        images[0, 0, 0], images[0, 0, 1] = 0, 255
        labels = rng.randint(0, 10, size=n).astype(np.uint8)
        write(folder, IMAGES[part], idx_bytes(images), compressed)
        write(folder, LABELS[part], idx_bytes(labels), compressed)
        arrays[part] = images, labels
    return arrays


# ----------------------------------------------------------------- the real files


@pytest.fixture(scope="module")
def fashion_train():
    return load_fashion_mnist(subset="train")


@needs_fashion
def test_real_train_set_has_documented_shapes_and_range(fashion_train):
    bunch = fashion_train
    assert bunch.data.shape == (60_000, 784)
    assert bunch.data.dtype == np.float32
    assert bunch.data.min() == 0.0 and bunch.data.max() == 1.0
    assert bunch.images.shape == (60_000, 28, 28)
    np.testing.assert_array_equal(bunch.images[123].ravel(), bunch.data[123])
    assert bunch.target.shape == (60_000,)
    assert bunch.target.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(bunch.target), np.full(10, 6_000))
    assert bunch.target_names == list(FASHION_MNIST_CLASSES)
    assert len(bunch.target_names) == 10
    assert bunch.feature_names[0] == "pixel0" and bunch.feature_names[-1] == "pixel783"
    assert FASHION_HOME in bunch.DESCR


@needs_fashion
def test_real_test_set_and_return_X_y():
    X, y = load_fashion_mnist(subset="test", return_X_y=True)
    assert X.shape == (10_000, 784)
    assert X.dtype == np.float32
    assert y.shape == (10_000,)
    assert set(np.unique(y)) == set(range(10))


@needs_fashion
def test_real_subset_all_stacks_train_then_test(fashion_train):
    X, y = load_fashion_mnist(subset="all", return_X_y=True)
    assert X.shape == (70_000, 784)
    np.testing.assert_array_equal(X[:60_000], fashion_train.data)
    np.testing.assert_array_equal(y[:60_000], fashion_train.target)
    X_test, y_test = load_fashion_mnist(subset="test", return_X_y=True)
    np.testing.assert_array_equal(X[60_000:], X_test)
    np.testing.assert_array_equal(y[60_000:], y_test)


@needs_fashion
def test_real_as_frame():
    pd = pytest.importorskip("pandas", reason="as_frame=True needs pandas")
    bunch = load_fashion_mnist(subset="test", as_frame=True)
    assert isinstance(bunch.data, pd.DataFrame)
    assert bunch.data.shape == (10_000, 784)
    assert list(bunch.data.columns[:2]) == ["pixel0", "pixel1"]
    assert isinstance(bunch.target, pd.Series)
    assert bunch.target.name == "target"
    X, y = load_fashion_mnist(subset="test", as_frame=True, return_X_y=True)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)


# ------------------------------------------------- small files written by the tests


@pytest.mark.parametrize("compressed", [True, False], ids=["gzip", "plain"])
def test_fake_files_load_with_the_same_layout(tmp_path, compressed):
    arrays = fake_fashion(tmp_path, compressed=compressed)
    bunch = load_fashion_mnist(tmp_path)
    images, labels = arrays["train"]
    assert bunch.data.shape == (5, 784)
    assert bunch.data.dtype == np.float32
    np.testing.assert_allclose(bunch.data, images.reshape(5, -1) / 255.0, rtol=1e-6)
    assert bunch.data[0, 0] == 0.0 and bunch.data[0, 1] == 1.0
    np.testing.assert_array_equal(bunch.target, labels)
    assert bunch.images.shape == (5, 28, 28)
    assert str(tmp_path) in bunch.DESCR

    X, y = load_fashion_mnist(tmp_path, subset="all", return_X_y=True)
    assert X.shape == (8, 784)
    np.testing.assert_array_equal(y, np.concatenate([labels, arrays["test"][1]]))


def test_data_home_defaults_to_environment_variable(tmp_path, monkeypatch):
    fake_fashion(tmp_path, n_test=4)
    monkeypatch.setenv("SKVAE_FASHION_MNIST", str(tmp_path))
    X, _ = load_fashion_mnist(subset="test", return_X_y=True)
    assert X.shape == (4, 784)


def test_missing_folder_says_how_to_install(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path / "nowhere")


def test_missing_file_is_named(tmp_path):
    fake_fashion(tmp_path)
    (tmp_path / (LABELS["test"] + ".gz")).unlink()
    load_fashion_mnist(tmp_path, subset="train")  # the train files are all there
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte.gz"):
        load_fashion_mnist(tmp_path, subset="test")


@pytest.mark.parametrize("compressed", [True, False], ids=["gzip", "plain"])
@pytest.mark.parametrize(
    "cut, message",
    [
        (lambda b: b[:-100], "is truncated or has trailing bytes"),
        (lambda b: b + b"\x00", "is truncated or has trailing bytes"),
        (lambda b: b[:7], "is truncated: 7 bytes, shorter than an IDX header"),
    ],
    ids=["short-body", "trailing-byte", "short-header"],
)
def test_truncated_file_is_a_clear_value_error(tmp_path, compressed, cut, message):
    fake_fashion(tmp_path, compressed=compressed)
    images = np.zeros((5, 28, 28), dtype=np.uint8)
    write(tmp_path, IMAGES["train"], cut(idx_bytes(images)), compressed)
    with pytest.raises(ValueError, match=message) as info:
        load_fashion_mnist(tmp_path)
    assert IMAGES["train"] in str(info.value)
    assert "Replace the file" in str(info.value)


@pytest.mark.parametrize(
    "payload, found",
    [
        (idx_bytes(np.zeros(100)), "0x00000801"),  # a label file (1-D) where images belong
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "0x89504e47"),
    ],
    ids=["labels-for-images", "png"],
)
def test_bad_magic_number_is_a_clear_value_error(tmp_path, payload, found):
    fake_fashion(tmp_path)
    write(tmp_path, IMAGES["train"], payload, compressed=True)
    with pytest.raises(
        ValueError,
        match=rf"not an IDX file of 3-D unsigned bytes \(magic number {found}, "
        r"expected 0x00000803\)",
    ):
        load_fashion_mnist(tmp_path)


@pytest.mark.parametrize(
    "payload",
    [b"this is not gzip data at all", gzip.compress(idx_bytes(np.zeros(5)))[:-12]],
    ids=["not-gzip", "cut-gzip-stream"],
)
def test_corrupt_gzip_is_a_clear_value_error(tmp_path, payload):
    fake_fashion(tmp_path)
    (tmp_path / (LABELS["train"] + ".gz")).write_bytes(payload)
    with pytest.raises(ValueError, match="is not a readable gzip IDX file") as info:
        load_fashion_mnist(tmp_path)
    assert "apt-get install --reinstall dataset-fashion-mnist" in str(info.value)


def test_label_count_mismatch_is_a_clear_value_error(tmp_path):
    fake_fashion(tmp_path)
    write(tmp_path, LABELS["train"], idx_bytes(np.zeros(4)), compressed=True)
    with pytest.raises(ValueError, match="4 labels; Fashion-MNIST has 28x28 images and one"):
        load_fashion_mnist(tmp_path)


def test_wrong_image_size_is_a_clear_value_error(tmp_path):
    fake_fashion(tmp_path)
    write(tmp_path, IMAGES["train"], idx_bytes(np.zeros((5, 8, 8))), compressed=True)
    with pytest.raises(ValueError, match=r"images of shape \(5, 8, 8\)"):
        load_fashion_mnist(tmp_path)


def test_unknown_subset_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="subset must be 'train', 'test' or 'all'; got 'val'"):
        load_fashion_mnist(tmp_path, subset="val")


@pytest.mark.parametrize("compressed", [True, False], ids=["gzip", "plain"])
def test_read_idx_returns_the_written_array(tmp_path, compressed):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = write(tmp_path, "cube-idx3-ubyte", idx_bytes(array), compressed)
    out = read_idx(path, 3)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, array)
