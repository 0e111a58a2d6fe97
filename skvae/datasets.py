"""Dataset loaders. Nothing is downloaded: files come from disk.

:func:`load_fashion_mnist` reads the four IDX files of Fashion-MNIST (Xiao, Rasul & Vollgraf,
2017) from a folder, by default the one Debian's ``dataset-fashion-mnist`` package installs.
"""

import gzip
import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

DEFAULT_FASHION_MNIST_HOME = "/usr/share/datasets/fashion-mnist"

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60_000),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10_000),
}
# IDX magic numbers: 0x00000801 = unsigned bytes, 1 dimension; 0x00000803 = 3 dimensions.
_MAGIC = {1: 0x0801, 3: 0x0803}


def _find(folder, stem):
    for name in (stem + ".gz", stem):
        path = folder / name
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"Fashion-MNIST file {stem}.gz (or {stem}) not found in {str(folder)!r}. "
        "Install Debian's package with `apt-get install dataset-fashion-mnist`, or pass "
        "data_home=<folder holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
        "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz>."
    )


def read_idx(path, n_dims):
    """Read an IDX file of unsigned bytes (optionally gzip-compressed) into a uint8 array.

    Raises ValueError, naming the file, when it is truncated or not an IDX file of
    ``n_dims`` dimensions.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise ValueError(
            f"{str(path)!r} is not a readable {'gzip ' if opener is gzip.open else ''}"
            f"IDX file ({exc}). Reinstall it (apt-get install --reinstall "
            "dataset-fashion-mnist) or replace the file."
        ) from exc
    header = 4 + 4 * n_dims
    magic = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if magic is not None and magic != _MAGIC[n_dims]:
        raise ValueError(
            f"{str(path)!r} is not an IDX file of {n_dims}-D unsigned bytes "
            f"(magic number {magic:#010x}, expected {_MAGIC[n_dims]:#010x}). Replace the file."
        )
    if len(raw) < header:
        raise ValueError(
            f"{str(path)!r} is truncated: {len(raw)} bytes, shorter than an IDX header. "
            "Replace the file."
        )
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(n_dims))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise ValueError(
            f"{str(path)!r} is truncated or has trailing bytes: {len(raw)} bytes where its "
            f"header (shape {shape}) needs {expected}. Replace the file."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load_fashion_mnist(data_home=None, *, subset="train", return_X_y=False, as_frame=False):
    """Load Fashion-MNIST: 70,000 grey 28x28 images of clothing in 10 classes.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding the four IDX files (gzip-compressed or not). Defaults to the
        ``SKVAE_FASHION_MNIST`` environment variable, else to
        ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``).
    subset : {"train", "test", "all"}, default="train"
        The dataset's own split: 60,000 training and 10,000 test images; "all" stacks
        train then test.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=False
        Return ``data`` as a pandas DataFrame (columns ``pixel0`` ... ``pixel783``) and
        ``target`` as a Series.

    Returns
    -------
    data : Bunch
        ``data`` (n, 784) float32 in [0, 1] (pixel / 255), ``target`` (n,) int64 labels,
        ``images`` (n, 28, 28) float32, ``target_names`` (the 10 class names),
        ``feature_names``, ``DESCR``.
    (data, target) : tuple, if ``return_X_y``.

    Raises
    ------
    FileNotFoundError
        If the files are missing, with how to get them.
    ValueError
        If a file is corrupt or truncated, or ``subset`` is unknown.

    Examples
    --------
    >>> from skvae.datasets import load_fashion_mnist
    >>> X, y = load_fashion_mnist(subset="test", return_X_y=True)  # doctest: +SKIP
    >>> X.shape, X.dtype  # doctest: +SKIP
    ((10000, 784), dtype('float32'))
    """
    if subset not in ("train", "test", "all"):
        raise ValueError(f"subset must be 'train', 'test' or 'all'; got {subset!r}.")
    if data_home is None:
        data_home = os.environ.get("SKVAE_FASHION_MNIST", DEFAULT_FASHION_MNIST_HOME)
    folder = Path(data_home)
    parts = ("train", "test") if subset == "all" else (subset,)
    images, labels = [], []
    for part in parts:
        image_stem, label_stem, _ = _FILES[part]
        image_path, label_path = _find(folder, image_stem), _find(folder, label_stem)
        part_images = read_idx(image_path, 3)
        part_labels = read_idx(label_path, 1)
        if part_images.shape[1:] != (28, 28) or len(part_images) != len(part_labels):
            raise ValueError(
                f"{str(image_path)!r} holds images of shape {part_images.shape} and "
                f"{str(label_path)!r} {len(part_labels)} labels; Fashion-MNIST has 28x28 "
                "images and one label each. Replace the files."
            )
        images.append(part_images)
        labels.append(part_labels)
    pixels = np.concatenate(images) if len(images) > 1 else images[0]
    data = np.empty(pixels.shape, dtype=np.float32)
    np.divide(pixels, np.float32(255.0), out=data, dtype=np.float32)
    target = (np.concatenate(labels) if len(labels) > 1 else labels[0]).astype(np.int64)
    flat = data.reshape(len(data), 28 * 28)
    feature_names = [f"pixel{i}" for i in range(28 * 28)]
    if as_frame:
        import pandas as pd

        flat = pd.DataFrame(flat, columns=feature_names, copy=False)
        target = pd.Series(target, name="target")
    if return_X_y:
        return flat, target
    return Bunch(
        data=flat,
        target=target,
        images=data,
        target_names=list(FASHION_MNIST_CLASSES),
        feature_names=feature_names,
        DESCR=(
            f"Fashion-MNIST ({subset}): {len(data)} grey 28x28 images of clothing in 10 "
            f"classes, read from {str(folder)!r}. Pixels scaled to [0, 1]."
        ),
    )
