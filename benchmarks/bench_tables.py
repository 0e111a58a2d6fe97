"""Held-out log-likelihood and downstream quality of VAETransformer against linear baselines
(probabilistic PCA and FactorAnalysis) on real tables.

Datasets: sklearn's bundled tables (digits, wine, breast_cancer, iris; diabetes as regression),
two synthetic non-linear manifolds (swiss roll and S-curve, 1500 rows, target = the manifold
coordinate t) and the real tables of ``--tables DIR`` / ``$SKVAE_TABLES`` (default
``../shared/data/tables`` next to the repository; targets and tasks from ``MANIFEST.tsv``).
Tables over 5000 rows are subsampled (seeded) to 5000.

Per dataset and n_components k, with K-fold CV (stratified for classification; preprocessing
fitted on the training fold only: StandardScaler, or for the real tables mean imputation +
StandardScaler of numeric columns and one-hot encoding of the others):
- LL: held-out log-likelihood per row (``.score``) of VAETransformer(k), PCA(k), FA(k);
- metric: accuracy of reducer -> LogisticRegression, or R² of reducer -> Ridge, on the
  held-out fold, for the VAE (the same fitted model as for LL), PCA and FA (FA's
  ``transform``, the posterior mean, is what a Gaussian VAE starting from FA begins with);
- VAE fit seconds and epochs (means over folds), and how many fits raised warnings.

Usage: python benchmarks/bench_tables.py [--quick] [--only a,b] [--skip a,b] [--k 2,8]
           [--folds 3] [--tables DIR] [--set key=value ...] [--csv PATH]
"""

import argparse
import ast
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from _common import add_run_options, chosen, finish, header, table_row

from sklearn import datasets as skd
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelEncoder, OneHotEncoder, StandardScaler

MAX_ROWS = 5000
QUICK = ["iris", "wine", "swiss_roll", "crabs", "oils"]
TITLE = "Held-out log-likelihood and downstream quality: VAETransformer vs PPCA / FA"
COLUMNS = ["dataset", "n", "d", "k", "LL VAE", "LL PPCA", "LL FA", "LL margin", "metric",
           "VAE metric", "PCA metric", "FA metric", "fit s", "epochs", "warnings"]


# ---------------------------------------------------------------- datasets
# Each loader returns (X, y, task, make_preprocessor); X is an array or a DataFrame.

def _sklearn(load, task):
    def loader():
        X, y = load(return_X_y=True)
        return X, y, task, StandardScaler
    return loader


def _manifold(make):
    def loader():
        X, t = make(n_samples=1500, noise=0.05, random_state=0)
        return X, t, "regression", StandardScaler
    return loader


def _table_loader(path, target, task):
    def loader():
        frame = pd.read_csv(path)
        frame = frame[frame[target].notna()]
        X, y = frame.drop(columns=target), frame[target]
        numeric = list(X.select_dtypes(include="number").columns)
        categorical = [c for c in X.columns if c not in numeric]
        if categorical:  # strings / booleans, NaN as its own category
            X[categorical] = X[categorical].astype(object).fillna("missing").astype(str)

        def preprocessor():
            return ColumnTransformer([
                ("num", make_pipeline(SimpleImputer(strategy="mean"), StandardScaler()), numeric),
                ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
            ])
        return X, y.to_numpy(), task, preprocessor
    return loader


def real_tables(folder):
    """name -> loader for every CSV of `folder` that MANIFEST.tsv describes."""
    folder = Path(folder)
    if not folder.is_dir():
        print(f"# real tables: {folder} is absent; running the other datasets only")
        return {}
    manifest = next((p for p in (folder.parent / "MANIFEST.tsv", folder / "MANIFEST.tsv")
                     if p.is_file()), None)
    if manifest is None:
        print(f"# real tables: no MANIFEST.tsv at {folder.parent} or {folder}; skipping them")
        return {}
    loaders = {}
    for entry in pd.read_csv(manifest, sep="\t").itertuples():
        path = folder / f"{entry.name}.csv"
        if not path.is_file():
            print(f"# real tables: {path} listed in the manifest but absent")
            continue
        task = "classification" if entry.task.startswith("classification") else "regression"
        loaders[entry.name] = _table_loader(path, entry.target, task)
    print(f"# real tables: {len(loaders)} from {folder.resolve()}")
    return loaders


#: sklearn's bundled tables and their tasks (also read by bench_impute.py).
SKLEARN_TABLES = {
    "digits": (skd.load_digits, "classification"),
    "wine": (skd.load_wine, "classification"),
    "breast_cancer": (skd.load_breast_cancer, "classification"),
    "iris": (skd.load_iris, "classification"),
    "diabetes": (skd.load_diabetes, "regression"),
}


def all_datasets(tables):
    loaders = {name: _sklearn(load, task) for name, (load, task) in SKLEARN_TABLES.items()}
    loaders.update({
        "swiss_roll": _manifold(skd.make_swiss_roll),
        "s_curve": _manifold(skd.make_s_curve),
    })
    loaders.update(real_tables(tables))
    return loaders


def prepare(name, loader):
    """Load, drop rare classes, encode labels, subsample: (label, X, y, task, preprocessor)."""
    X, y, task, preprocessor = loader()
    if task == "classification":
        labels, counts = np.unique(y.astype(str), return_counts=True)
        keep = np.isin(y.astype(str), labels[counts >= 3])
        X, y = X[keep], LabelEncoder().fit_transform(y[keep].astype(str))
    label, n = name, len(y)
    if n > MAX_ROWS:
        rows = np.sort(np.random.RandomState(0).choice(n, MAX_ROWS, replace=False))
        X, y = (X.iloc[rows] if hasattr(X, "iloc") else X[rows]), y[rows]
        label = f"{name} ({MAX_ROWS} of {n})"
    return label, X, y, task, preprocessor


# ---------------------------------------------------------------- evaluation

def watched(fn, warned):
    """Run fn() recording warnings; append the categories raised (if any) to `warned`."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    if caught:
        warned.append(sorted({w.category.__name__ for w in caught}))
    return result


def downstream(task, Z_train, y_train, Z_test, y_test, warned):
    model = LogisticRegression(max_iter=2000) if task == "classification" else Ridge()
    watched(lambda: model.fit(Z_train, y_train), warned)
    return model.score(Z_test, y_test)  # accuracy or R²


def evaluate(X, y, task, preprocessor, k, folds, overrides):
    """Mean over folds of each measurement, or the VAE's error message."""
    cv_class = StratifiedKFold if task == "classification" else KFold
    cv = cv_class(n_splits=folds, shuffle=True, random_state=0)
    take = (lambda idx: X.iloc[idx]) if hasattr(X, "iloc") else (lambda idx: X[idx])
    keys = ("ll_vae", "ll_ppca", "ll_fa", "m_vae", "m_pca", "m_fa", "s", "ep")
    scores = {key: [] for key in keys}
    warned, error = [], ""
    for train, test in cv.split(X, y):
        prep = preprocessor().fit(take(train))
        X_train, X_test = prep.transform(take(train)), prep.transform(take(test))
        for key, reducer in (("ppca", PCA(k)), ("fa", FactorAnalysis(k, random_state=0))):
            watched(lambda: reducer.fit(X_train), warned)
            scores[f"ll_{key}"].append(reducer.score(X_test))
            metric = "m_pca" if key == "ppca" else "m_fa"
            scores[metric].append(downstream(task, reducer.transform(X_train), y[train],
                                             reducer.transform(X_test), y[test], warned))
        if error:
            continue
        try:
            from skvae import VAETransformer

            vae = VAETransformer(k, random_state=0, **overrides)
            start = time.perf_counter()
            watched(lambda: vae.fit(X_train), warned)
            scores["s"].append(time.perf_counter() - start)
            scores["ep"].append(vae.n_iter_)
            scores["ll_vae"].append(vae.score(X_test))
            scores["m_vae"].append(downstream(task, vae.transform(X_train), y[train],
                                              vae.transform(X_test), y[test], warned))
        except Exception as exc:  # report in the row, carry on with the rest
            error = f"{type(exc).__name__}: {exc}".splitlines()[0][:80]
    means = {key: float(np.mean(v)) if v and not error else float("nan")
             for key, v in scores.items()}
    for key in ("ll_ppca", "ll_fa", "m_pca", "m_fa"):  # the baselines don't depend on the VAE
        means[key] = float(np.mean(scores[key]))
    categories = sorted({c for cats in warned for c in cats})
    means["warnings"] = f"{len(warned)} ({', '.join(categories)})" if warned else "0"
    return means, error


def make_row(label, n, d, k, task, means, error):
    margin = means["ll_vae"] - max(means["ll_ppca"], means["ll_fa"])
    return {"dataset": label, "n": n, "d": d, "k": k, "LL VAE": error or means["ll_vae"],
            "LL PPCA": means["ll_ppca"], "LL FA": means["ll_fa"], "LL margin": margin,
            "metric": "acc" if task == "classification" else "R²",
            "VAE metric": means["m_vae"], "PCA metric": means["m_pca"],
            "FA metric": means["m_fa"], "fit s": means["s"],
            "epochs": means["ep"], "warnings": means["warnings"]}


def summary(rows):
    done = [r for r in rows if isinstance(r["LL VAE"], float) and np.isfinite(r["LL VAE"])]
    print(f"# {len(done)} of {len(rows)} cases with a VAE result")
    if not done:
        return
    ll = np.array([[r["LL VAE"], r["LL PPCA"], r["LL FA"]] for r in done])
    metric = np.array([[r["VAE metric"], r["PCA metric"], r["FA metric"]] for r in done])
    print(f"# VAE LL >= max(PPCA, FA): {np.sum(ll[:, 0] >= ll[:, 1:].max(axis=1))} of {len(done)}; "
          f">= PPCA: {np.sum(ll[:, 0] >= ll[:, 1])}; >= FA: {np.sum(ll[:, 0] >= ll[:, 2])}")
    print(f"# VAE metric >= PCA metric: {np.sum(metric[:, 0] >= metric[:, 1])} of {len(done)}; "
          f">= FA metric: {np.sum(metric[:, 0] >= metric[:, 2])}; FA >= PCA: "
          f"{np.sum(metric[:, 2] >= metric[:, 1])}")
    margins = [r["LL margin"] for r in done]
    print(f"# mean LL margin (VAE - max(PPCA, FA)): {np.mean(margins):.4g} nats/row "
          f"(median {np.median(margins):.4g})", flush=True)


def parse_overrides(pairs):
    overrides = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            overrides[key.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[key.strip()] = value
    return overrides


def case_options(description):
    """The parser of the table benchmarks (this one and bench_start.py): which datasets,
    n_components and folds, plus --tables / --set / --csv."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--only", help="comma-separated dataset names to run")
    parser.add_argument("--skip", default="", help="comma-separated dataset names to leave out")
    parser.add_argument("--k", default="2,8", help="n_components values (default 2,8)")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--quick", action="store_true",
                        help=f"{', '.join(QUICK)}; k=2; 2 folds")
    add_run_options(parser, "VAETransformer")
    return parser


def cases(args):
    """``(folds, [(label, X, y, task, preprocessor, d, k), ...])`` as the options ask; each
    dataset is loaded when its turn comes, and k >= d is skipped with a message."""
    ks = [2] if args.quick else [int(k) for k in args.k.split(",")]
    folds = 2 if args.quick else args.folds
    loaders = all_datasets(args.tables)
    names = chosen(loaders, args, QUICK)

    def each():
        for name in names:
            label, X, y, task, preprocessor = prepare(name, loaders[name])
            d = preprocessor().fit_transform(X).shape[1]
            for k in ks:
                if k >= d:
                    print(f"# {label}: k={k} >= d={d}, skipped", flush=True)
                    continue
                yield label, X, y, task, preprocessor, d, k

    return folds, ks, each()


def main():
    args = case_options(__doc__.splitlines()[0]).parse_args()
    overrides = parse_overrides(args.set)
    header(TITLE)
    folds, ks, todo = cases(args)
    print(f"# k = {ks}, {folds}-fold CV, VAETransformer(k, random_state=0, **{overrides})\n",
          flush=True)

    print("| " + " | ".join(COLUMNS) + " |", flush=True)
    rows = []
    for label, X, y, task, preprocessor, d, k in todo:
        means, error = evaluate(X, y, task, preprocessor, k, folds, overrides)
        rows.append(make_row(label, len(y), d, k, task, means, error))
        table_row(rows[-1], COLUMNS)
    finish("tables", TITLE, rows, COLUMNS, summary, args)


if __name__ == "__main__":
    main()
