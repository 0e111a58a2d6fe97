"""Repeated fits in one process: time and resident memory per fit.

A model-selection loop (GridSearchCV with n_jobs=1, a notebook re-running a cell) fits the
same small estimator many times in one process. Each fit should cost about the same time
and leave memory where it was: growth after the first few fits (TensorFlow's one-off
start-up) would be a leak that ends a long search.

Setting: sklearn's digits (1,797 x 64) MinMax-scaled,
VAETransformer(8, likelihood="bernoulli", max_iter=20, early_stopping=False, random_state=i)
for i = 0 .. n_fits - 1; the estimator of the previous fit is dropped before the next.
"RSS MB" is read right after the fit; "RSS after gc MB" after ``gc.collect()``: memory still
held then is kept alive by something (a leak), not garbage in reference cycles that Python's
collector has not reached yet. With --no-gc nothing is collected between fits, as in a
user's loop, and only "RSS MB" is shown.

``--quick``: 10 fits (growth measured over the 5 after the first five).

Usage: python benchmarks/bench_refit.py [--quick] [--n-fits 30] [--no-gc]
"""

import argparse
import gc
import time
import warnings

import numpy as np
from _common import as_markdown, echoed, header, rss_mb, table, write_results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-fits", type=int, default=None,
                        help="number of fits (default 30; 10 with --quick)")
    parser.add_argument("--no-gc", action="store_true", help="no gc.collect() between fits")
    parser.add_argument("--quick", action="store_true", help="10 fits")
    args = parser.parse_args()
    if args.n_fits is None:
        args.n_fits = 10 if args.quick else 30
    title = (f"Repeated fits in one process: {args.n_fits} fits on digits (1,797 x 64), "
             "20 epochs each")
    header(title)
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.preprocessing import MinMaxScaler

    from skvae import VAETransformer

    X = MinMaxScaler().fit_transform(load_digits().data)
    before = f"RSS before the first fit (NumPy, sklearn, data loaded): {rss_mb():.1f} MB"
    print(before + "\n")
    rows = []
    for i in range(args.n_fits):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # 20 epochs is a fixed budget
            est = VAETransformer(8, likelihood="bernoulli", max_iter=20, early_stopping=False,
                                 random_state=i).fit(X)
        seconds = time.perf_counter() - start
        del est
        row = {"fit #": i + 1, "seconds": seconds, "RSS MB": rss_mb()}
        if not args.no_gc:
            gc.collect()
            row["RSS after gc MB"] = rss_mb()
        rows.append(row)
    columns = ["RSS MB"] if args.no_gc else ["RSS MB", "RSS after gc MB"]
    body = table(rows, ["fit #", "seconds", *columns])

    seconds = [row["seconds"] for row in rows]
    after = min(5, len(rows))
    later = len(rows) - after
    with echoed() as notes:
        for column in columns:
            growth = rows[-1][column] - rows[after - 1][column]
            print(f"{column}: growth after fit {after}: {growth:+.1f} MB over {later} fits "
                  f"({growth / max(later, 1):+.2f} MB per fit)")
        print(f"mean fit time, first 5 fits: {np.mean(seconds[:5]):.3f} s "
              f"(without fit 1: {np.mean(seconds[1:5]):.3f} s)")
        print(f"mean fit time, last 5 fits:  {np.mean(seconds[-5:]):.3f} s")
    notes = as_markdown(before + "\n" + notes.getvalue())
    write_results("refit", [(title, body + "\n\n" + notes)], args.quick)


if __name__ == "__main__":
    main()
