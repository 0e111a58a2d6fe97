"""Quality against PCA: Fashion-MNIST test-set reconstruction MSE of
inverse_transform(transform(X)) at n_components = 2, 10 and 64, with fit times; and the
digits pipeline MinMaxScaler -> (VAETransformer | PCA)(8) -> LogisticRegression, 3-fold.

VAETransformer fits the 60,000 training images with its defaults except the Bernoulli
likelihood (pixels are in [0, 1]); early stopping holds out 10% and picks the epoch count.
At 64 components the β = 1 VAE switches unneeded dimensions off (the KL term's price), so
the table also shows β < 1.

``--quick``: Fashion-MNIST fits on 10,000 rows with ``max_iter=5`` (the digits part as is).

Usage: python benchmarks/bench_quality.py [--quick]
"""

import argparse
import time
import warnings

import numpy as np

from _common import fashion_mnist, header, table, write_results

TITLE = "Reconstruction quality: VAETransformer vs PCA on Fashion-MNIST (test set)"
DIGITS = "Digits: MinMaxScaler -> reducer(8) -> LogisticRegression(max_iter=2000), 3-fold"
PUBLISHED = {2: "PCA 0.0461, AE 0.0240", 64: "PCA 0.0104"}


def fit_timed(est, X):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k rows, max_iter=5")
    args = parser.parse_args()
    header(TITLE)
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler

    from skvae import VAETransformer

    X, _, X_test, _ = fashion_mnist()
    extra = {}
    if args.quick:
        X, extra = X[:10000], {"max_iter": 5}
    runs = [(2, 1.0), (10, 1.0), (10, 0.25), (64, 1.0), (64, 0.1)]
    rows = []
    for k, beta in runs:
        est = VAETransformer(k, likelihood="bernoulli", beta=beta, random_state=0, **extra)
        seconds = fit_timed(est, X)
        mse = float(np.mean((est.inverse_transform(est.transform(X_test)) - X_test) ** 2))
        active = int(np.sum(est.kl_per_component_ > 0.05))
        row = {"n_components": k, "model": f"VAE beta={beta:g}", "test MSE": mse,
               "fit s": seconds, "epochs": est.n_iter_, "active dims": active,
               "published": PUBLISHED.get(k, "")}
        rows.append(row)
        print(row, flush=True)
        if beta == 1.0:
            pca = PCA(k, random_state=0)
            seconds = fit_timed(pca, X)
            mse = float(np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2))
            rows.append({"n_components": k, "model": "PCA", "test MSE": mse, "fit s": seconds,
                         "epochs": "", "active dims": k, "published": ""})
    print()
    sections = [(TITLE, table(rows, list(rows[0])))]

    print(f"# {DIGITS}")
    Xd, yd = load_digits(return_X_y=True)
    digit_rows = []
    for name, reducer in [
        ("VAETransformer(8) (defaults)", VAETransformer(8, random_state=0)),
        ("VAETransformer(8, likelihood='bernoulli')",
         VAETransformer(8, likelihood="bernoulli", random_state=0)),
        ("PCA(8)", PCA(8)),
    ]:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            acc = cross_val_score(make_pipeline(MinMaxScaler(), reducer,
                                                LogisticRegression(max_iter=2000)),
                                  Xd, yd, cv=3).mean()
        digit_rows.append({"pipeline": name, "accuracy": float(acc),
                           "seconds": time.perf_counter() - start})
    sections.append((DIGITS, table(digit_rows, ["pipeline", "accuracy", "seconds"])))
    write_results("quality", sections, args.quick)


if __name__ == "__main__":
    main()
