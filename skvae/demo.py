"""skvae-demo: fit a VAE on Fashion-MNIST (or sklearn's digits) and write pictures of it.

Run ``skvae-demo`` or ``python -m skvae.demo`` (``--help`` lists the options). The demo

(a) classifies images with MinMaxScaler -> VAETransformer -> LogisticRegression and compares
    the test accuracy with PCA of the same size in the same pipeline;
(b) chooses ``n_components`` with GridSearchCV and no scorer, i.e. by the held-out
    log-likelihood of :meth:`VAETransformer.score`, and prints the table;
(c) writes four PNGs (latent space, reconstructions, samples, loss curve) to ``--output``.

It is an application, so it prints its progress; the library itself never prints.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

# name: (image_shape, rows used for the pipeline and grid search, VAETransformer settings)
_SETTINGS = {
    "fashion-mnist": dict(
        image_shape=(28, 28),
        n_train=10_000,
        n_test=10_000,
        n_components=8,
        grid=(2, 4, 8, 16),
        cv=3,
        vae=dict(hidden_layer_sizes=(256, 128), batch_size=128, max_iter=30),
    ),
    "digits": dict(
        image_shape=(8, 8),
        n_train=None,  # 75% of the 1,797 images
        n_test=None,
        n_components=8,
        grid=(2, 4, 8, 16),
        cv=3,
        vae=dict(hidden_layer_sizes=(256, 128), batch_size=128, max_iter=200),
    ),
}
_QUICK = dict(
    n_train=1_000,
    n_test=500,
    n_components=4,
    grid=(2, 4),
    cv=2,
    vae=dict(hidden_layer_sizes=(32,), batch_size=128, max_iter=5),
)


class _Clock:
    """Prints one line per step, prefixed with the seconds since the demo started."""

    def __init__(self):
        self.start = time.perf_counter()

    def step(self, message):
        print(f"[{time.perf_counter() - self.start:6.1f}s] {message}", flush=True)

    def note(self, message):
        print(f"          {message}", flush=True)


def _parser():
    parser = argparse.ArgumentParser(
        prog="skvae-demo",
        description=(
            "Fit a variational autoencoder (skvae.VAETransformer) on Fashion-MNIST or "
            "sklearn's digits: compare it with PCA as features for a classifier, choose "
            "n_components by held-out log-likelihood, and write pictures of the result."
        ),
    )
    parser.add_argument(
        "--output",
        default="demo_output",
        metavar="DIR",
        help="folder for the PNG files (created if missing; default: %(default)s)",
    )
    parser.add_argument(
        "--dataset",
        choices=("auto", "fashion-mnist", "digits"),
        default="auto",
        help=(
            "auto: Fashion-MNIST when its files are installed (Debian package "
            "dataset-fashion-mnist, or the folder in $SKVAE_FASHION_MNIST), else sklearn's "
            "digits (default: %(default)s)"
        ),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny networks, few epochs and a small grid: seconds instead of minutes",
    )
    parser.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="INT",
        help="seed of the data split, the networks and the samples (default: %(default)s)",
    )
    return parser


def _load(dataset, clock):
    """(X, y, target_names, name) for the chosen dataset; X is float in [0, 1]."""
    from skvae.datasets import load_fashion_mnist

    if dataset in ("auto", "fashion-mnist"):
        try:
            train = load_fashion_mnist(subset="train")
            test = load_fashion_mnist(subset="test")
        except FileNotFoundError:
            if dataset == "fashion-mnist":
                raise
            clock.note(
                "Fashion-MNIST not found (apt-get install dataset-fashion-mnist, or set "
                "SKVAE_FASHION_MNIST to its folder); using sklearn's digits instead."
            )
        else:
            return (train.data, train.target, test.data, test.target), train.target_names, (
                "fashion-mnist"
            )
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    names = [str(name) for name in digits.target_names]
    return (X, digits.target, None, None), names, "digits"


def _split(data, settings, random_state):
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state

    X_train, y_train, X_test, y_test = data
    rng = check_random_state(random_state)
    if X_test is None:  # digits: no official split
        X_train, X_test, y_train, y_test = train_test_split(
            X_train, y_train, test_size=0.25, stratify=y_train, random_state=rng
        )
    for name, size in (("train", settings["n_train"]), ("test", settings["n_test"])):
        X, y = (X_train, y_train) if name == "train" else (X_test, y_test)
        if size is not None and size < len(X):
            rows = np.sort(rng.permutation(len(X))[:size])
            X, y = X[rows], y[rows]
        if name == "train":
            X_train, y_train = X, y
        else:
            X_test, y_test = X, y
    return X_train, y_train, X_test, y_test


def _vae(settings, n_components, random_state):
    from skvae import VAETransformer

    return VAETransformer(
        n_components,
        likelihood="bernoulli",
        random_state=random_state,
        **settings["vae"],
    )


def _compare_with_pca(X_train, y_train, X_test, y_test, settings, random_state, clock):
    """(a): the same pipeline with the VAE and with PCA; returns the fitted VAE pipeline."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler

    k = settings["n_components"]
    results = {}
    pipelines = {}
    for name, reducer in (
        ("VAE", _vae(settings, k, random_state)),
        ("PCA", PCA(n_components=k, random_state=random_state)),
    ):
        clock.step(
            f"(a) fitting MinMaxScaler -> {type(reducer).__name__}(n_components={k}) -> "
            f"LogisticRegression on {len(X_train)} images"
        )
        pipe = Pipeline(
            [
                ("scale", MinMaxScaler(clip=True)),
                ("reduce", reducer),
                ("classify", LogisticRegression(max_iter=2000)),
            ]
        )
        start = time.perf_counter()
        pipe.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        results[name] = pipe.score(X_test, y_test)
        pipelines[name] = pipe
        clock.note(
            f"{name} + LogisticRegression: test accuracy {results[name]:.3f} on "
            f"{len(X_test)} images (fit in {seconds:.1f} s)"
        )
    vae = pipelines["VAE"].named_steps["reduce"]
    if vae.n_iter_ < vae.max_iter:
        stopped = f"early stopping ended the VAE's training after {vae.n_iter_} epochs"
    else:
        stopped = f"the VAE trained for max_iter={vae.max_iter} epochs (capped to save time)"
    clock.note(
        f"accuracy with {k} features: VAE {results['VAE']:.3f}, PCA {results['PCA']:.3f}; "
        + stopped
    )
    return pipelines["VAE"]


def _grid_search(X_train, settings, random_state, clock):
    """(b): n_components chosen by held-out log-likelihood (GridSearchCV without scoring)."""
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler

    grid = list(settings["grid"])
    clock.step(
        f"(b) GridSearchCV over n_components={grid}, {settings['cv']}-fold, scored by "
        f"VAETransformer.score (held-out log-likelihood) on {len(X_train)} images"
    )
    pipe = Pipeline(
        [("scale", MinMaxScaler(clip=True)), ("vae", _vae(settings, 2, random_state))]
    )
    search = GridSearchCV(
        pipe,
        {"vae__n_components": grid},
        cv=KFold(settings["cv"], shuffle=True, random_state=random_state),
        refit=False,
        verbose=3,  # one line per fit: the progress of the longest step
    )
    search.fit(X_train)
    results = search.cv_results_
    best = search.best_params_["vae__n_components"]
    clock.note("n_components   mean log-likelihood (nats/image)   std    fit time (s)")
    for i, k in enumerate(results["param_vae__n_components"]):
        marker = "  <- best" if k == best else ""
        clock.note(
            f"{k:>12}   {results['mean_test_score'][i]:>32.2f}   "
            f"{results['std_test_score'][i]:>5.2f}   {results['mean_fit_time'][i]:>11.1f}"
            f"{marker}"
        )
    clock.note(f"best n_components: {best} (highest held-out log-likelihood)")
    return search


def _plots(pipe, X_test, y_test, target_names, image_shape, output, random_state, clock):
    """(c): the four pictures, from the VAE of the pipeline fitted in (a)."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")  # files only; no window needed
    import matplotlib.pyplot as plt

    from skvae import plotting

    vae = pipe.named_steps["reduce"]
    X_scaled = pipe[:1].transform(X_test)
    n_points = min(len(X_scaled), 3000)
    output.mkdir(parents=True, exist_ok=True)
    pictures = (
        (
            "latent_space.png",
            lambda: plotting.plot_latent_space(
                vae, X_scaled[:n_points], y_test[:n_points], target_names=target_names
            ),
        ),
        (
            "reconstructions.png",
            lambda: plotting.plot_reconstructions(vae, X_scaled, image_shape, n=10),
        ),
        (
            "samples.png",
            lambda: plotting.plot_samples(vae, 36, image_shape, random_state=random_state),
        ),
        ("loss_curve.png", lambda: plotting.plot_loss_curve(vae)),
    )
    clock.step(f"(c) drawing {len(pictures)} pictures of the VAE from (a)")
    paths = []
    for filename, draw in pictures:
        fig = draw()
        path = output / filename
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
        clock.note(f"wrote {path}")
    return paths


def main(argv=None):
    """Run the demo; ``argv`` defaults to the command line (``sys.argv[1:]``)."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        parser.error('the demo draws pictures with matplotlib: pip install "skvae[plot]"')

    clock = _Clock()
    clock.step(f"loading data (--dataset {args.dataset})")
    try:
        data, target_names, dataset = _load(args.dataset, clock)
    except (FileNotFoundError, ValueError) as exc:
        parser.exit(1, f"skvae-demo: error: {exc}\n")
    settings = dict(_SETTINGS[dataset], **(_QUICK if args.quick else {}))
    X_train, y_train, X_test, y_test = _split(data, settings, args.random_state)
    clock.note(
        f"{dataset}: {len(X_train)} training and {len(X_test)} test images of "
        f"{settings['image_shape'][0]}x{settings['image_shape'][1]} pixels"
        + (" (--quick: tiny networks, few epochs)" if args.quick else "")
    )

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        # The demo caps max_iter to stay within minutes; the warning would only say so.
        warnings.simplefilter("ignore", ConvergenceWarning)
        clock.note(
            f"VAETransformer(likelihood='bernoulli', {_describe(settings['vae'])}, "
            "early_stopping=True)"
        )
        pipe = _compare_with_pca(
            X_train, y_train, X_test, y_test, settings, args.random_state, clock
        )
        _grid_search(X_train, settings, args.random_state, clock)
    paths = _plots(
        pipe,
        X_test,
        y_test,
        target_names,
        settings["image_shape"],
        Path(args.output),
        args.random_state,
        clock,
    )
    clock.step(f"done: {len(paths)} pictures in {Path(args.output)}")


def _describe(params):
    return ", ".join(f"{key}={value!r}" for key, value in params.items())


if __name__ == "__main__":
    main()
