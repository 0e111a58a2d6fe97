"""Inference latency: VAETransformer's transform / inverse_transform / score_samples against
PCA and against calling the Keras models directly, for 1 row and for 10,000 rows.

Calls are timed round-robin (one call of each per round; median per call), so that the
machine's changing speed hits every row alike.

Usage: python benchmarks/bench_inference.py
"""

import warnings

import numpy as np

from _common import fashion_mnist, header, interleaved_medians, table

from sklearn.decomposition import PCA
from skvae import VAETransformer


def main():
    header("Inference latency (median of repeated calls), Fashion-MNIST, model 784-150-100-10")
    X, _, X_test, _ = fashion_mnist()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = VAETransformer(10, hidden_layer_sizes=(150, 100), likelihood="bernoulli",
                             max_iter=2, early_stopping=False, random_state=0).fit(X[:20000])
    pca = PCA(10).fit(X[:20000])
    enc, dec = est.encoder_, est.decoder_
    rows = []
    for n in (1, 10_000):
        x = X_test[:n]
        z = est.transform(x)
        repeat = 200 if n == 1 else 10
        timings = {
            "transform: VAETransformer": lambda: est.transform(x),
            "transform: PCA": lambda: pca.transform(x),
            "transform: encoder.predict": lambda: enc.predict(x, verbose=0),
            "transform: encoder.predict_on_batch": lambda: enc.predict_on_batch(x),
            "transform: encoder(x)": lambda: enc(x),
            "inverse_transform: VAETransformer": lambda: est.inverse_transform(z),
            "inverse_transform: PCA": lambda: pca.inverse_transform(pca.transform(x)[:, :10]),
            "inverse_transform: decoder(z)": lambda: dec(z),
            "score_samples: VAETransformer (16 samples)": lambda: est.score_samples(x),
            "score_samples: PCA": lambda: pca.score_samples(x),
        }
        slow = {name: 3 for name in timings if n > 1 and "predict(" in name}
        medians = interleaved_medians(timings, repeat=repeat, caps=slow)
        rows += [{"rows": n, "call": name, "ms": 1e3 * s} for name, s in medians.items()]
    table(rows, ["rows", "call", "ms"])


if __name__ == "__main__":
    main()
