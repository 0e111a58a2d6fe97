"""Memory and scale: peak RSS growth while fitting 55,000 x 784 float32 rows, and seconds
per epoch at 10k, 55k and 550k rows (550k = Fashion-MNIST tiled), model 784-150-100-10.

Each measurement runs in a fresh subprocess, so one does not inherit another's peak. The
seconds per epoch are read from the ``verbose=1`` epoch lines ("Epoch 3/3 - 0.52s - ...");
any other line of the output is ignored.

``--quick``: the memory at 10,000 rows, the seconds per epoch at 2,000 and 10,000 rows.

Usage: python benchmarks/bench_scale.py [--quick]
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

from _common import header, table, write_results

TITLE = "Memory and scale, Fashion-MNIST rows (tiled beyond 60k), model 784-150-100-10"

CHILD = r"""
import contextlib, io, json, sys, warnings
import numpy as np
sys.path.insert(0, sys.argv[4])
from _common import epoch_seconds, fashion_mnist, peak_rss_mb, rss_mb
from skvae import VAETransformer
n_rows, epochs, early = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
X = fashion_mnist()[0]
X = np.ascontiguousarray(np.tile(X, (-(-n_rows // len(X)), 1))[:n_rows])
params = dict(n_components=10, hidden_layer_sizes=(150, 100), likelihood="bernoulli",
              batch_size=128, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    VAETransformer(max_iter=1, early_stopping=False, **params).fit(X[:2000])  # load TF, XLA
    before_rss, before_peak = rss_mb(), peak_rss_mb()
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        est = VAETransformer(max_iter=epochs, early_stopping=early, verbose=1, **params).fit(X)
seconds = epoch_seconds(log.getvalue())
if not seconds:
    sys.exit("no epoch line in the verbose output:\n" + log.getvalue())
print(json.dumps({"rows": n_rows, "data_mb": X.nbytes / 2**20, "before_rss": before_rss,
                  "before_peak": before_peak, "after_peak": peak_rss_mb(), "seconds": seconds}))
"""


def run(n_rows, epochs, early):
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(n_rows), str(epochs), str(int(early)), here],
        capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="memory at 10,000 rows; seconds per epoch at 2,000 and 10,000")
    args = parser.parse_args()
    header(TITLE)
    memory_rows, epoch_rows = (10_000, (2_000, 10_000)) if args.quick else (
        55_000, (10_000, 55_000, 550_000))
    m = run(memory_rows, 2, True)
    growth = m["after_peak"] - m["before_rss"]
    memory = table([{
        "rows": memory_rows, "data MB (float32)": m["data_mb"],
        "RSS before fit MB": m["before_rss"], "peak RSS during fit MB": m["after_peak"],
        "peak growth MB": growth, "growth / data": growth / m["data_mb"],
    }], ["rows", "data MB (float32)", "RSS before fit MB", "peak RSS during fit MB",
         "peak growth MB", "growth / data"])
    rows = []
    for n in epoch_rows:
        r = run(n, 3, False)
        per_epoch = float(np.median(r["seconds"][1:]))
        rows.append({"rows": n, "s/epoch (median of epochs 2-3)": per_epoch,
                     "us/row": 1e6 * per_epoch / n, "first epoch s (compile)": r["seconds"][0]})
    speed = table(rows, list(rows[0]))
    write_results("scale", [(TITLE, memory + "\n\n" + speed)], args.quick)


if __name__ == "__main__":
    main()
