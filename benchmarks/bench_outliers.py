"""Outlier detection ROC-AUC and average precision: VAEOutlierDetector against sklearn's.

IsolationForest, LocalOutlierFactor, EllipticEnvelope and PCA's score_samples are the
baselines, on public data with known anomalies that are built offline.

Tasks (one class held out as the outliers, down-sampled to ``--share`` = 5 % of the task's rows,
seeded ``np.random.RandomState(0)``; rows shuffled):
- breast_cancer: benign inliers, malignant outliers;
- digits-0, digits-8: the other nine digits inliers, the digit 0 (or 8) outliers;
- wine: classes 0 and 1 inliers, class 2 outliers; iris: setosa and versicolor inliers,
  virginica outliers;
- olive (Sardinia outliers, the two Italian regions inliers) and spam (nonspam inliers,
  spam outliers) from ``--tables DIR`` / ``$SKVAE_TABLES`` (default ``../shared/data/tables``,
  loaded with ``bench_tables``'s loader; numeric columns only), when present;
- fashion-bag: ``--fashion-rows`` (default 5000) Fashion-MNIST training images, the classes
  other than ``--fashion-class`` (default 8, "Bag") as inliers; pixels in [0, 1] as they are.
  Needs Debian's dataset-fashion-mnist (skipped with a note otherwise).
Tables are standardized (StandardScaler); columns constant within a task are dropped.

Unsupervised setting: each detector fits all rows of a task (labels unseen) and scores the
same rows; outliers are the positive class, the anomaly score is -score_samples
(LocalOutlierFactor(novelty=False): -negative_outlier_factor_). Detectors:
VAEOutlierDetector(random_state=0) (on fashion-bag also with likelihood="bernoulli"),
IsolationForest(random_state=0), LocalOutlierFactor(), EllipticEnvelope(random_state=0)
(skipped when d > 100) and PCA(n_components=min(10, d - 1)). "fit+score s" times fitting
and scoring; "flagged %" is the share of rows each detector's own threshold predicts as
outliers (VAEOutlierDetector, IsolationForest and LocalOutlierFactor with
contamination="auto"; EllipticEnvelope's default contamination is a fixed 10 %), to compare
with the true "outlier %". "warnings" counts warnings raised, by category.

Usage: python benchmarks/bench_outliers.py [--quick] [--only a,b] [--skip a,b] [--share 0.05]
           [--fashion-rows 5000] [--fashion-class 8] [--no-bernoulli] [--tables DIR]
           [--set key=value ...] [--csv PATH]
"""

import argparse
import time
import warnings
from collections import Counter

import numpy as np

from _common import add_run_options, chosen, finish, header, table, table_row
from bench_tables import parse_overrides, real_tables

from sklearn import datasets as skd
from sklearn.covariance import EllipticEnvelope
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.neighbors import LocalOutlierFactor
from sklearn.preprocessing import StandardScaler

TITLE = "Outlier detection ROC-AUC / AP: VAEOutlierDetector vs sklearn's detectors"
QUICK = ["breast_cancer", "wine"]
VAE, VAE_BERNOULLI = "VAEOutlierDetector", "VAEOutlierDetector(bernoulli)"
COLUMNS = ["task", "n", "d", "outlier %", "detector", "ROC-AUC", "AP", "fit+score s",
           "flagged %", "warnings"]


# ---------------------------------------------------------------- tasks
# Each builder returns (X, is_outlier, standardize) or raises; X is a float array.

def hold_out(X, y, outlier_classes, share, seed=0):
    """Rows of the other classes as inliers, plus outlier rows making `share` of the result."""
    rng = np.random.RandomState(seed)
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    out = np.isin(y, outlier_classes)
    inliers, pool = X[~out], X[out]
    n_out = min(len(pool), int(round(share * len(inliers) / (1 - share))))
    outliers = pool[rng.choice(len(pool), n_out, replace=False)]
    X = np.vstack([inliers, outliers])
    is_outlier = np.r_[np.zeros(len(inliers), bool), np.ones(n_out, bool)]
    order = rng.permutation(len(X))
    return X[order], is_outlier[order]


def _sklearn(load, outlier_classes):
    def build(share):
        X, y = load(return_X_y=True)
        return (*hold_out(X, y, outlier_classes, share), True)
    return build


def _shared(table_loader, outlier_classes):
    def build(share):
        X, y, _, _ = table_loader()
        X = X.select_dtypes(include="number")
        complete = X.notna().all(axis=1).to_numpy()
        return (*hold_out(X.to_numpy()[complete], y[complete], outlier_classes, share), True)
    return build


def _fashion(rows, outlier_class):
    def build(share):
        from skvae.datasets import load_fashion_mnist

        X, y = load_fashion_mnist(subset="train", return_X_y=True)
        rng = np.random.RandomState(0)
        n_out = int(round(share * rows))
        inliers = rng.choice(np.flatnonzero(y != outlier_class), rows - n_out, replace=False)
        outliers = rng.choice(np.flatnonzero(y == outlier_class), n_out, replace=False)
        take = rng.permutation(np.r_[inliers, outliers])
        return X[take].astype(np.float32), y[take] == outlier_class, False
    return build


def all_tasks(args):
    tasks = {
        "breast_cancer": _sklearn(skd.load_breast_cancer, [0]),  # 0 = malignant
        "digits-0": _sklearn(skd.load_digits, [0]),
        "digits-8": _sklearn(skd.load_digits, [8]),
        "wine": _sklearn(skd.load_wine, [2]),
        "iris": _sklearn(skd.load_iris, [2]),  # virginica
    }
    shared = real_tables(args.tables)
    for name, outlier_classes in (("olive", ["Sardinia"]), ("spam", ["spam"])):
        if name in shared:
            tasks[name] = _shared(shared[name], outlier_classes)
    if args.fashion_rows > 0:
        tasks["fashion-bag" if args.fashion_class == 8 else f"fashion-{args.fashion_class}"] = (
            _fashion(args.fashion_rows, args.fashion_class))
    return tasks


def _matches(name, wanted):
    """A task name asked for exactly or as a prefix before '-' ("digits": both)."""
    return name == wanted or name.startswith(wanted + "-")


# ---------------------------------------------------------------- detectors
# Each runner fits on X and returns (anomaly score, flagged share or None).

def _vae(overrides, **extra):
    def run(X):
        from skvae import VAEOutlierDetector

        det = VAEOutlierDetector(random_state=0, **{**overrides, **extra}).fit(X)
        return -det.score_samples(X), lambda: float(np.mean(det.predict(X) == -1))
    return run


def _isolation_forest(X):
    det = IsolationForest(random_state=0).fit(X)
    return -det.score_samples(X), lambda: float(np.mean(det.predict(X) == -1))


def _lof(X):
    det = LocalOutlierFactor(novelty=False).fit(X)
    score = det.negative_outlier_factor_
    return -score, lambda: float(np.mean(score < det.offset_))


def _elliptic(X):
    if X.shape[1] > 100:
        raise RuntimeError(f"skipped: d = {X.shape[1]} > 100")
    det = EllipticEnvelope(random_state=0).fit(X)
    return -det.score_samples(X), lambda: float(np.mean(det.predict(X) == -1))


def _pca(X):
    det = PCA(n_components=min(10, X.shape[1] - 1)).fit(X)
    return -det.score_samples(X), None


def detectors(overrides, bernoulli):
    runners = {VAE: _vae(overrides), "IsolationForest": _isolation_forest,
               "LocalOutlierFactor": _lof, "EllipticEnvelope": _elliptic, "PCA": _pca}
    if bernoulli:
        runners[VAE_BERNOULLI] = _vae(overrides, likelihood="bernoulli")
    return runners


def evaluate(run, X, is_outlier):
    caught = []
    row = {}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            start = time.perf_counter()
            anomaly, flagged = run(X)
            row["fit+score s"] = time.perf_counter() - start
            anomaly = np.asarray(anomaly, dtype=np.float64)
            if not np.isfinite(anomaly).all():
                raise ValueError(f"{int(np.sum(~np.isfinite(anomaly)))} non-finite scores")
            row["ROC-AUC"] = float(roc_auc_score(is_outlier, anomaly))
            row["AP"] = float(average_precision_score(is_outlier, anomaly))
            if flagged is not None:
                row["flagged %"] = 100 * flagged()
    except Exception as exc:  # report in the row, carry on with the rest
        text = str(exc) if str(exc).startswith("skipped") else f"{type(exc).__name__}: {exc}"
        row["ROC-AUC"] = text.splitlines()[0][:80]
    counts = Counter(w.category.__name__ for w in caught)
    by_category = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    row["warnings"] = f"{len(caught)} ({by_category})" if caught else "0"
    return row


# ---------------------------------------------------------------- summary

def summary(rows):
    auc, ap = {}, {}
    for r in rows:
        if isinstance(r["ROC-AUC"], float):
            auc.setdefault(r["detector"], {})[r["task"]] = r["ROC-AUC"]
            ap.setdefault(r["detector"], {})[r["task"]] = r["AP"]
    if not auc:
        return
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    main = [d for d in auc if d != VAE_BERNOULLI]
    shared = [t for t in tasks if all(t in auc[d] for d in main)]
    per_detector = [{"detector": d, "tasks": len(auc[d]),
                     "mean ROC-AUC": float(np.mean(list(auc[d].values()))),
                     "mean AP": float(np.mean(list(ap[d].values()))),
                     f"mean ROC-AUC ({len(shared)} shared tasks)":
                         float(np.mean([auc[d][t] for t in shared]))
                         if shared and d in main else "",
                     "lowest ROC-AUC": min(auc[d].values())} for d in auc]
    if len(shared) == len(tasks):
        for p in per_detector:
            del p[f"mean ROC-AUC ({len(shared)} shared tasks)"]
    print("## Mean over tasks\n")
    table(per_detector, list(per_detector[0]))
    complete = [p for p in per_detector if p["tasks"] == len(tasks)]
    if complete:
        best = max(complete, key=lambda p: p["mean ROC-AUC"])
        print(f"# best mean ROC-AUC over all {len(tasks)} tasks (detectors with a result on "
              f"each): {best['detector']} {best['mean ROC-AUC']:.4g} "
              f"(of {', '.join(p['detector'] for p in complete)})")
    if shared and len(shared) < len(tasks):
        key = f"mean ROC-AUC ({len(shared)} shared tasks)"
        best = max((p for p in per_detector if p["detector"] in main), key=lambda p: p[key])
        print(f"# best mean ROC-AUC over the {len(shared)} tasks every detector has: "
              f"{best['detector']} {best[key]:.4g}")
    if VAE in auc:
        for other in ("IsolationForest", "PCA"):
            both = [t for t in auc[VAE] if t in auc.get(other, {})]
            if both:
                lost = [f"{t} ({auc[VAE][t]:.3f} vs {auc[other][t]:.3f})" for t in both
                        if auc[VAE][t] < auc[other][t]]
                print(f"# {VAE} ROC-AUC >= {other}: {len(both) - len(lost)} of {len(both)} tasks"
                      + (f"; lower on {', '.join(lost)}" if lost else ""))
        flagged = [f"{r['task']} {r['flagged %']:.1f} % (true {r['outlier %']:.1f} %)"
                   for r in rows if r["detector"] == VAE and isinstance(r.get("flagged %"), float)]
        if flagged:
            print(f"# {VAE} flagged (contamination='auto') vs true outlier share: "
                  + "; ".join(flagged))
    print(flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated task names (or prefixes: digits)")
    parser.add_argument("--skip", default="", help="comma-separated task names to leave out")
    parser.add_argument("--share", type=float, default=0.05,
                        help="share of outliers in each task (default 0.05)")
    parser.add_argument("--fashion-rows", type=int, default=5000,
                        help="rows of the Fashion-MNIST task (default 5000; 0 leaves it out)")
    parser.add_argument("--fashion-class", type=int, default=8,
                        help="Fashion-MNIST class held out as the outliers (default 8, Bag)")
    parser.add_argument("--no-bernoulli", action="store_true",
                        help="no likelihood='bernoulli' VAEOutlierDetector on Fashion-MNIST")
    parser.add_argument("--quick", action="store_true", help=", ".join(QUICK))
    add_run_options(parser, "VAEOutlierDetector")
    args = parser.parse_args()
    overrides = parse_overrides(args.set)

    header(TITLE)
    tasks = all_tasks(args)
    names = chosen(tasks, args, QUICK, matches=_matches, kind="tasks")
    print(f"# outliers {args.share:.0%} of each task; VAEOutlierDetector(random_state=0, "
          f"**{overrides})\n", flush=True)

    print("| " + " | ".join(COLUMNS) + " |", flush=True)
    rows = []
    for name in names:
        try:
            X, is_outlier, standardize = tasks[name](args.share)
        except Exception as exc:
            print(f"# {name}: skipped ({type(exc).__name__}: {str(exc).splitlines()[0]})",
                  flush=True)
            continue
        X = X[:, X.std(axis=0) > 0]
        if standardize:
            X = StandardScaler().fit_transform(X)
        fashion = name.startswith("fashion")
        for det_name, run in detectors(overrides, fashion and not args.no_bernoulli).items():
            row = {"task": name, "n": X.shape[0], "d": X.shape[1],
                   "outlier %": 100 * float(is_outlier.mean()), "detector": det_name}
            row.update(evaluate(run, X, is_outlier))
            rows.append(row)
            table_row(row, COLUMNS)
    finish("outliers", TITLE, rows, COLUMNS, summary, args)


if __name__ == "__main__":
    main()
