"""Matplotlib pictures of a fitted VAETransformer: latent space, reconstructions, samples, loss.

matplotlib is an optional dependency (``pip install "skvae[plot]"``), imported when a function
is called. Every function draws into the ``ax`` (or ``fig``) it is given, or into a new pyplot
figure, and returns the figure; nothing is shown, so the functions work the same in scripts
(``fig.savefig(...)``), notebooks and headless servers.
"""

from numbers import Integral

import numpy as np
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_consistent_length, check_is_fitted

__all__ = ["plot_latent_space", "plot_loss_curve", "plot_reconstructions", "plot_samples"]

_MAX_CLASSES = 20  # more distinct numeric labels than this get a colour bar, not a legend
_INSTALL_HINT = 'skvae.plotting needs matplotlib; install it with `pip install "skvae[plot]"`.'


def _pyplot():
    """pyplot, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return plt


def _new_axes(ax, figsize):
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _new_figure(fig, figsize):
    plt = _pyplot()
    if fig is None:
        fig = plt.figure(figsize=figsize, layout="constrained")
    return fig


def _check_image_shape(image_shape, n_features, source):
    try:
        shape = tuple(int(s) for s in image_shape)
    except (TypeError, ValueError):
        shape = None
    if not shape or len(shape) not in (2, 3) or min(shape) < 1:
        raise ValueError(
            "image_shape must be (height, width), or (height, width, channels) for colour "
            f"images; got image_shape={image_shape!r}."
        )
    if int(np.prod(shape)) != n_features:
        raise ValueError(
            f"image_shape={shape} holds {int(np.prod(shape))} pixels, but {source} has "
            f"{n_features} features per row; pass the shape of one image, e.g. (8, 8) for "
            "sklearn's digits or (28, 28) for Fashion-MNIST."
        )
    return shape


def _check_count(value, name):
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {name}={value!r}.")
    return int(value)


def _draw_images(axes, images, image_shape, vmin, vmax, cmap):
    for ax, image in zip(axes, images):
        ax.imshow(
            np.asarray(image, dtype=np.float64).reshape(image_shape),
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            interpolation="nearest",
        )
    for ax in axes:
        ax.set_axis_off()


def _grey_range(*arrays):
    """One grey scale for every image shown: [0, 1] for pixel data, else the data's range."""
    low = min(float(np.min(a)) for a in arrays)
    high = max(float(np.max(a)) for a in arrays)
    if low >= 0 and high <= 1:
        return 0.0, 1.0
    return low, high


def _first_rows(X, n):
    return X.iloc[:n] if hasattr(X, "iloc") else X[:n]


def plot_latent_space(
    est,
    X,
    y=None,
    *,
    target_names=None,
    ax=None,
    cmap=None,
    s=8,
    alpha=0.7,
):
    """Scatter the latent means ``est.transform(X)``, coloured by ``y``.

    With two latent components the axes are the components themselves. With more, the means
    are projected on their first two principal axes (a PCA fitted on ``est.transform(X)``),
    and the axis labels say so. With one component, each row's mean is plotted against its
    row index.

    Parameters
    ----------
    est : fitted transformer
        Usually a :class:`~skvae.VAETransformer`; anything with ``transform`` works.
    X : array-like of shape (n_samples, n_features)
        Rows to encode.
    y : array-like of shape (n_samples,), default=None
        Colours: class labels give one colour per class and a legend; continuous values
        give a colour map and a colour bar. None draws every point in one colour.
    target_names : sequence of str, default=None
        Class names for the legend, indexed by integer label (``target_names[label]``), as
        in the Bunch of :func:`sklearn.datasets.load_digits` or
        :func:`skvae.datasets.load_fashion_mnist`.
    ax : matplotlib Axes, default=None
        Axes to draw into; None makes a new figure.
    cmap : str or Colormap, default=None
        Colour map: "tab10" (or "tab20" above ten classes) for classes, "viridis" for
        continuous ``y``.
    s : float, default=8
        Marker size.
    alpha : float, default=0.7
        Marker opacity.

    Returns
    -------
    fig : matplotlib Figure
        The figure holding ``ax``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from skvae import VAETransformer
    >>> from skvae.plotting import plot_latent_space
    >>> digits = load_digits()
    >>> X = MinMaxScaler().fit_transform(digits.data)
    >>> vae = VAETransformer(likelihood="bernoulli", max_iter=5, random_state=0).fit(X)
    >>> fig = plot_latent_space(vae, X, digits.target)  # doctest: +SKIP
    >>> fig.savefig("latent.png")  # doctest: +SKIP
    """
    _pyplot()
    Z = np.asarray(est.transform(X), dtype=np.float64)
    if y is not None:
        y = np.asarray(y)
        check_consistent_length(Z, y)
    ax = _new_axes(ax, figsize=(6, 5))

    if Z.shape[1] == 1:
        points = np.column_stack([np.arange(len(Z)), Z[:, 0]])
        xlabel, ylabel = "row index", "latent mean (z1)"
        title = "1 latent component"
    elif Z.shape[1] == 2:
        points = Z
        xlabel, ylabel = "latent mean 1 (z1)", "latent mean 2 (z2)"
        title = "2 latent components"
    else:
        from sklearn.decomposition import PCA

        pca = PCA(n_components=2).fit(Z)
        points = pca.transform(Z)
        share = 100 * pca.explained_variance_ratio_
        xlabel = f"PC1 of latent means ({share[0]:.0f}% of variance)"
        ylabel = f"PC2 of latent means ({share[1]:.0f}% of variance)"
        title = f"{Z.shape[1]} latent components, projected on 2 principal axes"

    kind = None if y is None else type_of_target(y)
    if kind == "multiclass" and y.dtype.kind in "iuf" and len(np.unique(y)) > _MAX_CLASSES:
        kind = "continuous"  # e.g. integer ages or counts: a colour bar, not a legend
    if kind is None:
        ax.scatter(points[:, 0], points[:, 1], s=s, alpha=alpha)
    elif kind == "continuous":
        mappable = ax.scatter(
            points[:, 0], points[:, 1], c=y, cmap=cmap or "viridis", s=s, alpha=alpha
        )
        ax.figure.colorbar(mappable, ax=ax)
    elif kind in ("binary", "multiclass"):
        classes = np.unique(y)
        names = _class_names(classes, target_names)
        colours = _class_colours(len(classes), cmap)
        for label, name, colour in zip(classes, names, colours):
            rows = y == label
            ax.scatter(
                points[rows, 0], points[rows, 1], s=s, alpha=alpha, color=colour, label=name
            )
        ax.legend(
            markerscale=max(1.0, (24 / s) ** 0.5),
            fontsize="small",
            ncols=1 if len(classes) <= 12 else 2,
            loc="best",
        )
    else:
        raise ValueError(
            "y must hold one class label or one number per row (1-D); got a target of "
            f"type {kind!r} with shape {y.shape}."
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    return ax.figure


def _class_names(classes, target_names):
    if target_names is None:
        return [str(c) for c in classes]
    target_names = list(target_names)

    def index(label):
        try:
            value = float(label)
        except (TypeError, ValueError):
            return None
        if value.is_integer() and 0 <= value < len(target_names):
            return int(value)
        return None

    bad = [label for label in classes if index(label) is None]
    if bad:
        raise ValueError(
            f"target_names has {len(target_names)} names, indexed by integer label, but y "
            f"holds the labels {[str(b) for b in bad[:5]]}; pass integer labels in "
            f"[0, {len(target_names)}) or leave target_names=None."
        )
    return [str(target_names[index(label)]) for label in classes]


def _class_colours(n_classes, cmap):
    import matplotlib
    from matplotlib.colors import ListedColormap

    if cmap is None:
        cmap = "tab10" if n_classes <= 10 else "tab20"
    if isinstance(cmap, str):
        cmap = matplotlib.colormaps[cmap]
    if isinstance(cmap, ListedColormap) and cmap.N >= n_classes:
        return [cmap(i) for i in range(n_classes)]
    return [cmap(v) for v in np.linspace(0, 1, n_classes)]


def plot_reconstructions(est, X, image_shape, *, n=10, fig=None, cmap="gray"):
    """Images of X (top row) above their reconstructions (bottom row).

    A reconstruction is ``est.inverse_transform(est.transform(X))``: the decoder's mean for
    the latent mean of each row (pixel probabilities for ``likelihood="bernoulli"``). Both
    rows share one grey scale ([0, 1] for data in [0, 1]).

    Parameters
    ----------
    est : fitted transformer
        Usually a :class:`~skvae.VAETransformer`; anything with ``transform`` and
        ``inverse_transform`` works (e.g. PCA).
    X : array-like of shape (n_samples, n_features)
        Rows that are flattened images; the first ``n`` are shown.
    image_shape : tuple of int
        Shape of one image, ``(height, width)``, with ``prod(image_shape) == n_features``.
    n : int, default=10
        Number of images (capped at ``n_samples``).
    fig : matplotlib Figure or SubFigure, default=None
        Figure to draw into; None makes a new one.
    cmap : str or Colormap, default="gray"
        Colour map of the images.

    Returns
    -------
    fig : matplotlib Figure
        ``2 * n`` axes, one image each, axes hidden.
    """
    _pyplot()
    n = _check_count(n, "n")
    originals = np.asarray(_first_rows(X, n), dtype=np.float64)
    if originals.ndim != 2:
        raise ValueError(
            f"X must be 2-D (one flattened image per row); got shape {originals.shape}."
        )
    image_shape = _check_image_shape(image_shape, originals.shape[1], "X")
    rows = _first_rows(X, n)
    reconstructions = np.asarray(est.inverse_transform(est.transform(rows)), dtype=np.float64)
    n = len(originals)
    vmin, vmax = _grey_range(originals, reconstructions)

    fig = _new_figure(fig, figsize=(max(4.0, 1.1 * n), 2.6))
    axes = np.asarray(fig.subplots(2, n, squeeze=False))
    _draw_images(axes[0], originals, image_shape, vmin, vmax, cmap)
    _draw_images(axes[1], reconstructions, image_shape, vmin, vmax, cmap)
    for ax, label in ((axes[0, 0], "original"), (axes[1, 0], "reconstruction")):
        ax.text(
            -0.08, 0.5, label, transform=ax.transAxes, rotation=90, ha="right", va="center"
        )
    fig.suptitle("Originals (top) and their reconstructions (bottom)")
    return fig


def plot_samples(est, n, image_shape, *, random_state=None, n_cols=None, fig=None, cmap="gray"):
    """A grid of new images generated by ``est.sample(n, random_state)``.

    Parameters
    ----------
    est : fitted VAETransformer
        Anything with a ``sample(n_samples, random_state)`` method works.
    n : int
        Number of images.
    image_shape : tuple of int
        Shape of one image, ``(height, width)``, with ``prod(image_shape) == n_features``.
    random_state : int, RandomState instance or None, default=None
        Seed of the latent codes; an int draws the same images every time.
    n_cols : int, default=None
        Images per row; None makes the grid about square.
    fig : matplotlib Figure or SubFigure, default=None
        Figure to draw into; None makes a new one.
    cmap : str or Colormap, default="gray"
        Colour map of the images.

    Returns
    -------
    fig : matplotlib Figure
    """
    _pyplot()
    n = _check_count(n, "n")
    n_cols = int(np.ceil(np.sqrt(n))) if n_cols is None else min(_check_count(n_cols, "n_cols"), n)
    n_rows = -(-n // n_cols)
    check_is_fitted(est)
    n_features = getattr(est, "n_features_in_", None)
    if n_features is not None:
        image_shape = _check_image_shape(image_shape, n_features, "the fitted estimator")
    images = np.asarray(est.sample(n, random_state=random_state), dtype=np.float64)
    if n_features is None:
        image_shape = _check_image_shape(image_shape, images.shape[1], "each sample")
    vmin, vmax = _grey_range(images)

    fig = _new_figure(fig, figsize=(1.1 * n_cols, 1.1 * n_rows + 0.4))
    axes = np.asarray(fig.subplots(n_rows, n_cols, squeeze=False)).ravel()
    _draw_images(axes, images, image_shape, vmin, vmax, cmap)
    fig.suptitle(f"{n} samples: decoded z ~ N(0, I)")
    return fig


def plot_loss_curve(est, *, ax=None):
    """Training (solid) and validation (dashed) loss per epoch, with their ELBO parts.

    Draws the negative ELBO ("loss"), its reconstruction term (negative log-likelihood) and
    its KL term from ``est.history_``. Validation curves appear only when they were recorded
    (``early_stopping=True``); then a dotted line marks the best epoch, whose weights the
    estimator kept.

    Parameters
    ----------
    est : fitted VAETransformer
    ax : matplotlib Axes, default=None
        Axes to draw into; None makes a new figure.

    Returns
    -------
    fig : matplotlib Figure
        The figure holding ``ax``.
    """
    _pyplot()
    check_is_fitted(est)
    history = est.history_
    ax = _new_axes(ax, figsize=(6, 4))
    epochs = np.arange(1, len(history["loss"]) + 1)
    series = (
        ("loss", "loss", "C0"),
        ("reconstruction", "reconstruction", "C1"),
        ("kl", "KL", "C2"),
    )
    for key, label, colour in series:
        for prefix, style, split in (("", "-", "training"), ("val_", "--", "validation")):
            values = np.asarray(history.get(prefix + key, []), dtype=np.float64)
            if values.size == 0 or not np.isfinite(values).any():
                continue
            ax.plot(epochs[: len(values)], values, style, color=colour, label=f"{split} {label}")
    val_loss = np.asarray(history.get("val_loss", []), dtype=np.float64)
    if val_loss.size and np.isfinite(val_loss).any():
        best = int(np.nanargmin(val_loss)) + 1
        ax.axvline(best, color="grey", linestyle=":", label=f"best epoch ({best})")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("nats per row")
    ax.set_title("Training history (negative ELBO = reconstruction + β·KL)")
    ax.legend(fontsize="small", loc="best")
    return ax.figure
