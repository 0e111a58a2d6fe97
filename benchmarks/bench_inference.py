"""Inference latency: VAETransformer's transform / inverse_transform / score_samples against
PCA and against calling the Keras models directly, for 1 row and for 10,000 rows.

Calls are timed round-robin (one call of each per round; median per call), so that the
machine's changing speed hits every row alike.

``--quick``: the model fitted on 5,000 rows for 1 epoch, 1 row and 1,000 rows, fewer rounds.

Usage: python benchmarks/bench_inference.py [--quick]
"""

import argparse
import warnings

from _common import fashion_mnist, header, interleaved_medians, table, write_results

TITLE = "Inference latency (median of repeated calls), Fashion-MNIST, model 784-150-100-10"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fit on 5,000 rows for 1 epoch; 1 and 1,000 rows; fewer rounds")
    args = parser.parse_args()
    header(TITLE)
    from sklearn.decomposition import PCA

    from skvae import VAETransformer

    X, _, X_test, _ = fashion_mnist()
    fit_rows, epochs = (5000, 1) if args.quick else (20000, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = VAETransformer(10, hidden_layer_sizes=(150, 100), likelihood="bernoulli",
                             max_iter=epochs, early_stopping=False,
                             random_state=0).fit(X[:fit_rows])
    pca = PCA(10).fit(X[:fit_rows])
    enc, dec = est.encoder_, est.decoder_
    rows = []
    for n in (1, 1_000) if args.quick else (1, 10_000):
        x = X_test[:n]
        z = est.transform(x)
        repeat = (50 if n == 1 else 5) if args.quick else (200 if n == 1 else 10)
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
        rows += [{"rows": f"{n:,}", "call": name, "ms": 1e3 * s} for name, s in medians.items()]
    write_results("inference", [(TITLE, table(rows, ["rows", "call", "ms"]))], args.quick)


if __name__ == "__main__":
    main()
