"""Choosing n_components with GridSearchCV on Fashion-MNIST: wall time and the choice made.

``GridSearchCV(VAETransformer(likelihood="bernoulli", random_state=0),
{"n_components": [2, 4, 8, 16]}, cv=3)`` on the first ``--rows`` training images (default
10,000; n_jobs=1, the refit on all rows included), scored by ``VAETransformer.score`` (the
held-out log-likelihood). Prints the search's wall time, ``best_params_`` and, per size, the
mean fit seconds and epochs over the folds. The script uses only the public API, so the same
file measures an older checkout too (``PYTHONPATH=OLD_CHECKOUT python bench_grid.py``).

``--quick``: 2,000 rows, sizes 2 and 4, 2 folds, ``max_iter=30`` (the same search, small).

Usage: python benchmarks/bench_grid.py [--quick] [--rows 10000] [--sizes 2,4,8,16] [--folds 3]
"""

import argparse
import time
import warnings

import numpy as np
from _common import as_markdown, echoed, fashion_mnist, header, table, write_results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=None,
                        help="training images searched (default 10000; 2000 with --quick)")
    parser.add_argument("--sizes", default=None,
                        help="n_components values (default 2,4,8,16; 2,4 with --quick)")
    parser.add_argument("--folds", type=int, default=None,
                        help="cross-validation folds (default 3; 2 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="2,000 rows, sizes 2,4, 2 folds, max_iter=30")
    args = parser.parse_args()
    quick = {"rows": 2000, "sizes": "2,4", "folds": 2}
    full = {"rows": 10000, "sizes": "2,4,8,16", "folds": 3}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    extra = {"max_iter": 30} if args.quick else {}
    sizes = [int(k) for k in args.sizes.split(",")]
    title = (f"GridSearchCV over n_components={sizes}, cv={args.folds}, on {args.rows:,} "
             "Fashion-MNIST images" + (", max_iter=30" if args.quick else ""))
    header(title)
    from sklearn.model_selection import GridSearchCV

    from skvae import VAETransformer

    X = fashion_mnist()[0][: args.rows]
    epochs = {}

    class Recorded(VAETransformer):
        """Notes each fit's epochs (get_params / clone see VAETransformer's signature)."""

        def fit(self, X, y=None):
            super().fit(X, y)
            epochs.setdefault(self.n_components, []).append(self.n_iter_)
            return self

    search = GridSearchCV(Recorded(likelihood="bernoulli", random_state=0, **extra),
                          {"n_components": sizes}, cv=args.folds)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X)
    seconds = time.perf_counter() - start
    results = search.cv_results_
    rows = [{
        "n_components": k,
        "mean fit s": results["mean_fit_time"][i],
        "epochs (folds)": "/".join(str(e) for e in epochs[k][: args.folds]),
        "mean test score": results["mean_test_score"][i],
    } for i, k in enumerate(sizes)]
    body = table(rows, list(rows[0]))
    with echoed() as notes:
        print(f"search wall time: {seconds:.1f} s; best_params_: {search.best_params_}; refit "
              f"{search.refit_time_:.1f} s, {epochs[search.best_params_['n_components']][-1]} "
              f"epochs; warnings: {len(caught)}")
        print(f"total epochs over the {len(sizes) * args.folds + 1} fits: "
              f"{int(np.sum([e for v in epochs.values() for e in v]))}")
    write_results("grid", [(title, body + "\n\n" + as_markdown(notes.getvalue()))], args.quick)


if __name__ == "__main__":
    main()
