"""When to XLA-compile the training epoch: graph mode against XLA, side by side, per table shape.

For each shape (training rows x features, synthetic non-linear data, the default network and
batch size of ``VAETransformer(5)``), a fresh subprocess per mode fits twice with a fixed
number of epochs (no early stopping, so both modes run the same steps): the first fit pays
tracing (and XLA's compilation), the second reuses the cached trainer, as a grid search or
cross-validation does. Printed: steps per epoch, ms per step of the second fit in each mode,
the first fit's extra seconds in XLA mode (its start-up cost) and the epochs after which XLA
has paid for it (its start-up cost divided by the time it saves per epoch).

``skvae._engine.EpochRunner.use_jit`` is the rule (``JIT_MIN_STEPS`` steps per epoch or
``JIT_MIN_VALUES`` training values); this script forces each mode by patching it.

``--quick``: two shapes (1,000 x 10 and 8,000 x 10), 10 epochs per fit.

Usage: python benchmarks/bench_compile.py [--quick] [--epochs 40]
"""

import argparse
import json
import subprocess
import sys

from _common import header, table, write_results

CHILD = r"""
import json, sys, time, warnings
import numpy as np
from skvae import VAETransformer, _engine
n_rows, n_features, epochs, jit = (int(a) for a in sys.argv[1:5])
_engine.EpochRunner.use_jit = staticmethod(lambda n_train, n_features, batch: bool(jit))
rng = np.random.default_rng(0)
Z = rng.normal(size=(n_rows, 5))
X = np.tanh(Z @ rng.normal(size=(5, n_features))) + 0.3 * rng.normal(size=(n_rows, n_features))
seconds = []
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for seed in (0, 1):
        est = VAETransformer(5, max_iter=epochs, early_stopping=False, random_state=seed)
        start = time.perf_counter()
        est.fit(X)
        seconds.append(time.perf_counter() - start)
steps = -(-n_rows // est.batch_size_)
print(json.dumps({"seconds": seconds, "steps": steps, "hidden": est.hidden_layer_sizes_,
                  "batch": est.batch_size_, "loss": float(est.loss_curve_[-1])}))
"""

SHAPES = [(1_000, 10), (2_000, 30), (4_000, 10), (4_000, 60), (8_000, 10), (8_000, 30),
          (16_000, 10), (16_000, 30), (32_000, 10), (32_000, 30)]
QUICK_SHAPES = [(1_000, 10), (8_000, 10)]


def run(n_rows, n_features, epochs, jit):
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(n_rows), str(n_features), str(epochs), str(int(jit))],
        capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs per fit (default 40; 10 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="shapes 1,000 x 10 and 8,000 x 10 only, 10 epochs per fit")
    args = parser.parse_args()
    if args.epochs is None:
        args.epochs = 10 if args.quick else 40
    title = f"Graph mode against XLA, {args.epochs} epochs per fit, VAETransformer(5) defaults"
    header(title)
    rows = []
    for n_rows, n_features in QUICK_SHAPES if args.quick else SHAPES:
        graph, xla = run(n_rows, n_features, args.epochs, False), run(
            n_rows, n_features, args.epochs, True)
        per_step = {m: 1e3 * r["seconds"][1] / (args.epochs * r["steps"])
                    for m, r in (("graph", graph), ("xla", xla))}
        saved_per_epoch = (graph["seconds"][1] - xla["seconds"][1]) / args.epochs
        # The first fit's extra cost in XLA mode beyond the epochs it ran.
        start_up = (xla["seconds"][0] - xla["seconds"][1]) - (graph["seconds"][0] - graph["seconds"][1])
        rows.append({
            "rows": n_rows, "features": n_features, "network": str(tuple(graph["hidden"])),
            "batch": graph["batch"], "steps/epoch": graph["steps"],
            "graph ms/step": per_step["graph"], "XLA ms/step": per_step["xla"],
            "XLA start-up s": start_up,
            "break-even epochs": start_up / saved_per_epoch if saved_per_epoch > 0 else "never",
            "1st fit graph s": graph["seconds"][0], "1st fit XLA s": xla["seconds"][0],
            "final loss graph / XLA": f"{graph['loss']:.3f} / {xla['loss']:.3f}",
        })
        print(rows[-1], flush=True)
    write_results("compile", [(title, table(rows, list(rows[0])))], args.quick)


if __name__ == "__main__":
    main()
