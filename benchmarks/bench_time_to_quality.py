"""Time to quality: a default fit's seconds, epochs and test error, side by side with an
earlier version of skvae.

Setting (issue #32): ``VAETransformer(10, likelihood="bernoulli", random_state=0)`` with its
defaults otherwise, fitted on the first 10,000 Fashion-MNIST training images (all 60,000
with ``--full``, results in their own file), test MSE of
``inverse_transform(transform(X))`` on the first 5,000 test images. Each version fits in a fresh process, so that each imports its own code: this
checkout, and the baseline revision (default ``5f3f2fe``, before the time-to-quality work)
exported with ``git archive`` and put first on ``PYTHONPATH``. With ``--repeat`` above 1 the
two alternate, so that the machine's changing speed hits both alike; the table gives each
run, and the ratios of the medians.

``--quick``: 3,000 images, test on 1,000 (a smoke test of the script, not the setting).

Usage: python benchmarks/bench_time_to_quality.py [--quick] [--full] [--repeat 1]
           [--baseline 5f3f2fe]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from _common import as_markdown, echoed, header, table, write_results

ROOT = Path(__file__).resolve().parents[1]
COLUMNS = ["version", "run", "images", "epochs", "fit s", "test MSE"]

#: What each child process runs: one default fit, its figures as one JSON line.
_CHILD = """
import json, sys, time, warnings
import numpy as np
warnings.simplefilter("ignore")
from skvae import VAETransformer
from skvae.datasets import load_fashion_mnist
n_train, n_test = int(sys.argv[1]), int(sys.argv[2])
X = load_fashion_mnist(subset="train", return_X_y=True)[0][:n_train]
X_test = load_fashion_mnist(subset="test", return_X_y=True)[0][:n_test]
start = time.perf_counter()
vae = VAETransformer(10, likelihood="bernoulli", random_state=0).fit(X)
seconds = time.perf_counter() - start
mse = float(np.mean((vae.inverse_transform(vae.transform(X_test)) - X_test) ** 2))
print(json.dumps({"epochs": int(vae.n_iter_), "fit s": seconds, "test MSE": mse}))
"""


def export(revision, folder):
    """The baseline's source tree (``git archive``) in ``folder``; returns its path."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
    return folder


def fit(source, n_train, n_test):
    """One default fit in a fresh process importing skvae from ``source``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(source), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    done = subprocess.run([sys.executable, "-c", _CHILD, str(n_train), str(n_test)],
                          capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    if done.returncode:
        raise RuntimeError(f"the fit with skvae from {source} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3,000 images (a smoke test)")
    parser.add_argument("--full", action="store_true", help="all 60,000 training images")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each version")
    parser.add_argument("--baseline", default="5f3f2fe", help="git revision to compare with")
    args = parser.parse_args()
    n_train = 3000 if args.quick else 60000 if args.full else 10000
    n_test = 1000 if args.quick else 5000
    title = (f"Time to quality: VAETransformer(10, likelihood='bernoulli') on {n_train:,} "
             f"Fashion-MNIST images, this checkout against {args.baseline}")
    header(title)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        versions = {"this checkout": ROOT, args.baseline: export(args.baseline, folder)}
        for run in range(args.repeat):
            order = list(versions) if run % 2 == 0 else list(versions)[::-1]
            for name in order:
                row = {"version": name, "run": run + 1, "images": n_train,
                       **fit(versions[name], n_train, n_test)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    print()
    body = table(rows, COLUMNS)
    with echoed() as printed:
        medians = {name: {key: float(np.median([r[key] for r in rows if r["version"] == name]))
                          for key in ("epochs", "fit s", "test MSE")} for name in versions}
        ours, base = medians["this checkout"], medians[args.baseline]
        print(f"Medians: this checkout {ours['fit s']:.1f} s, {ours['epochs']:.0f} epochs, "
              f"test MSE {ours['test MSE']:.5f}; {args.baseline} {base['fit s']:.1f} s, "
              f"{base['epochs']:.0f} epochs, test MSE {base['test MSE']:.5f}.")
        print(f"Ratios (this checkout / {args.baseline}): seconds "
              f"{ours['fit s'] / base['fit s']:.2f}, test MSE "
              f"{ours['test MSE'] / base['test MSE']:.3f}")
    name = "time_to_quality_full" if args.full else "time_to_quality"
    write_results(name, [(title, body + "\n\n" + as_markdown(printed.getvalue()))],
                  args.quick, script="time_to_quality")


if __name__ == "__main__":
    main()
