"""Synthetic tables: VAETransformer.sample against TVAE, a Gaussian copula and independent
marginals, on mixed-type real tables.

Tables (``--data DIR`` / ``$SKVAE_DATA``, default ``../shared/data`` next to the repository;
target column and task from the ``MANIFEST.tsv`` beside each folder): credit_data, attrition,
penguins (``tables/``) and mlc_churn, sacramento, titanic, salaries, survey (``mixed/``).
Rows without a target are dropped; each table is split 70 / 30 into training and held-out rows
(seeded, stratified for classification).

Each synthesizer gets the whole training table (target included) and returns as many rows:
- ``skvae``: ``VAETransformer(8, random_state=0).fit(train).sample(len(train), random_state=0)``
  on the table as it is; "not supported yet" where skvae refuses text columns (a ValueError
  or TypeError), "output not a table yet" where ``sample`` returns other than one column per
  column of the table;
- ``skvae one-hot (0.2.0 path)``: OneHotEncoder on the text columns next to the numeric ones,
  the same VAETransformer on that matrix, each one-hot block decoded by its largest entry and
  integer columns rounded back;
- ``TVAE``: ctgan's TVAE with its defaults (``--tvae-epochs``, default 300), the text
  columns as ``discrete_columns``; it refuses holes, so for TVAE only they are filled first
  (median of a numeric column, most frequent value of a text column);
- ``Gaussian copula``: each column mapped to normal scores (numeric: ranks; text: the
  midpoint of its level's share of the empirical CDF, levels by frequency), their correlation,
  correlated normal draws mapped back through the empirical quantiles and levels; numeric
  holes put back at random at the column's missing rate;
- ``independent``: each column drawn with replacement from its training values;
- ``real training rows``: the training table itself, the reference.

Metrics, against the held-out real rows: SDMetrics' QualityReport "Column Shapes" and
"Column Pair Trends" and their mean, the report's overall "quality" (metadata: text / bool columns categorical, the rest numerical); TSTR,
a HistGradientBoosting model trained on the synthetic rows and scored on the held-out rows
(macro F1 for classification, R² for regression; text features as pandas categories); and
the synthesizer's fit seconds. "TSTR - real" is the TSTR minus that of the real training rows.

Needs ``pip install ctgan sdmetrics`` (benchmark-only; see benchmarks/requirements-synth.txt).

Usage: python benchmarks/bench_synth.py [--quick] [--tables a,b] [--tvae-epochs 300]
           [--data DIR]
"""

import argparse
import os
import time
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from _common import as_markdown, echoed, header, results_header, table
from _common import table_row, write_results

TITLE = "Synthetic tables: skvae vs TVAE, a Gaussian copula and independent marginals"
#: table name -> folder under --data holding it and its MANIFEST.tsv ("" : the data folder).
TABLES = {"credit_data": "tables", "attrition": "tables", "penguins": "tables",
          "mlc_churn": "mixed", "sacramento": "mixed", "titanic": "mixed",
          "salaries": "mixed", "survey": "mixed"}
QUICK = ["penguins", "salaries"]
QUICK_TVAE_EPOCHS = 30
TEST_SIZE = 0.3
NATIVE = "skvae"
REAL = "real training rows"
COLUMNS = ["table", "n train", "d", "synthesizer", "column shapes", "pair trends", "quality",
           "TSTR",
           "TSTR - real", "fit s", "note"]
MEAN_COLUMNS = ["synthesizer", "tables", "column shapes", "pair trends", "quality", "TSTR",
                "TSTR - real", "fit s"]


# ---------------------------------------------------------------- tables

def manifest_entry(data, name):
    """(csv path, target column, task) of a table, from the MANIFEST.tsv beside its folder."""
    folder = Path(data) / TABLES[name]
    manifest = next(p for p in (folder / "MANIFEST.tsv", folder.parent / "MANIFEST.tsv")
                    if p.is_file())
    entry = pd.read_csv(manifest, sep="\t").set_index("name").loc[name]
    task = "classification" if entry.task.startswith("classification") else "regression"
    return folder / f"{name}.csv", entry.target, task


def load_table(data, name):
    """(train, test, target, task): the table without target holes, split 70 / 30."""
    from sklearn.model_selection import train_test_split

    path, target, task = manifest_entry(data, name)
    frame = pd.read_csv(path)
    frame = frame[frame[target].notna()].reset_index(drop=True)
    stratify = frame[target] if task == "classification" else None
    train, test = train_test_split(frame, test_size=TEST_SIZE, random_state=0,
                                   stratify=stratify)
    return train.reset_index(drop=True), test.reset_index(drop=True), target, task


def categorical_columns(frame):
    """Columns that are not numbers: text, category and bool columns."""
    return [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])
            or pd.api.types.is_bool_dtype(frame[c])]


def integral_columns(frame):
    """Numeric columns whose observed values are all whole numbers."""
    numeric = frame.drop(columns=categorical_columns(frame))
    return [c for c in numeric.columns
            if np.all(np.mod(numeric[c].dropna().to_numpy(dtype=float), 1) == 0)]


def restore_integers(synthetic, like):
    """Round the columns that are whole numbers in ``like``; back to its integer dtype."""
    for column in integral_columns(like):
        values = synthetic[column].round()
        integer = pd.api.types.is_integer_dtype(like[column]) and values.notna().all()
        synthetic[column] = values.astype(like[column].dtype) if integer else values
    return synthetic


# ---------------------------------------------------------------- synthesizers
# Each takes the training table and returns a function of n that returns n synthetic rows.

def skvae_native(train):
    from skvae import VAETransformer

    model = VAETransformer(8, random_state=0).fit(train)
    return lambda n: model.sample(n, random_state=0)


class OneHotVAE:
    """skvae 0.2.0's way with text columns: one-hot them, fit the VAE on the numbers, decode
    each one-hot block by its largest entry."""

    def fit(self, frame):
        from sklearn.preprocessing import OneHotEncoder
        from skvae import VAETransformer

        self.like_ = frame
        self.categorical_ = categorical_columns(frame)
        self.numeric_ = [c for c in frame.columns if c not in self.categorical_]
        self.encoder_ = OneHotEncoder(sparse_output=False, dtype=np.float64)
        onehot = self.encoder_.fit_transform(frame[self.categorical_].astype(object))
        X = np.hstack([frame[self.numeric_].to_numpy(dtype=np.float64), onehot])
        self.vae_ = VAETransformer(8, random_state=0).fit(X)
        return self

    def sample(self, n):
        X = self.vae_.sample(n, random_state=0)
        out = pd.DataFrame(X[:, :len(self.numeric_)], columns=self.numeric_)
        start = len(self.numeric_)
        for column, levels in zip(self.categorical_, self.encoder_.categories_):
            block = X[:, start:start + len(levels)]
            out[column] = levels[block.argmax(axis=1)]
            start += len(levels)
        return restore_integers(out[list(self.like_.columns)], self.like_)


def skvae_onehot(train):
    return OneHotVAE().fit(train).sample


def fill_holes(frame):
    """Median of each numeric column, most frequent value of each text column, in its holes."""
    filled = frame.copy()
    for column in frame.columns[frame.isna().any()]:
        if column in categorical_columns(frame):
            filled[column] = frame[column].fillna(frame[column].mode().iloc[0])
        else:
            filled[column] = frame[column].fillna(frame[column].median())
    return filled


def tvae(train, epochs):
    from ctgan import TVAE

    model = TVAE(epochs=epochs)
    model.set_random_state(0)
    model.fit(fill_holes(train), discrete_columns=categorical_columns(train))
    return model.sample


class GaussianCopula:
    """Empirical margins joined by the correlation of their normal scores."""

    def fit(self, frame):
        from scipy.stats import norm

        self.like_ = frame
        self.categorical_ = categorical_columns(frame)
        self.levels_ = {c: frame[c].value_counts(dropna=False, normalize=True)
                        for c in self.categorical_}
        scores = np.column_stack([self._scores(frame[c]) for c in frame.columns])
        correlation = np.nan_to_num(np.corrcoef(norm.ppf(scores), rowvar=False))
        np.fill_diagonal(correlation, 1.0)  # a constant column has no correlation
        self.correlation_ = correlation
        return self

    def _scores(self, column):
        """Each value's position in (0, 1) on its column's empirical CDF (a hole: 0.5)."""
        if column.name in self.categorical_:
            shares = self.levels_[column.name]
            midpoints = shares.cumsum() - shares / 2
            return column.map(lambda v: midpoints[v] if v in midpoints else 0.5).to_numpy(float)
        ranks = column.rank(method="average")
        return ((ranks - 0.5) / column.notna().sum()).fillna(0.5).to_numpy()

    def sample(self, n):
        from scipy.stats import norm

        rng = np.random.default_rng(0)
        draws = rng.multivariate_normal(np.zeros(len(self.correlation_)), self.correlation_,
                                        size=n, method="eigh")
        u = norm.cdf(draws)
        out = {c: self._back(self.like_[c], u[:, j], rng) for j, c in enumerate(self.like_)}
        return pd.DataFrame(out)

    def _back(self, column, u, rng):
        """Positions on the CDF back to values of the column (numeric holes at its rate)."""
        if column.name in self.categorical_:
            shares = self.levels_[column.name]
            picks = np.searchsorted(shares.cumsum().to_numpy(), u).clip(0, len(shares) - 1)
            return shares.index.to_numpy()[picks]
        observed = column.dropna().to_numpy()
        values = np.quantile(observed, u, method="inverted_cdf").astype(float)
        values[rng.random(len(u)) < column.isna().mean()] = np.nan
        if column.isna().any() or not pd.api.types.is_integer_dtype(column):
            return values
        return values.astype(column.dtype)


def gaussian_copula(train):
    return GaussianCopula().fit(train).sample


def independent(train):
    """Each column drawn on its own, with replacement, from the training values."""
    def sample(n):
        rng = np.random.default_rng(0)
        return pd.DataFrame({c: train[c].to_numpy()[rng.integers(len(train), size=n)]
                             for c in train.columns})
    return sample


def real_rows(train):
    return lambda n: train.copy()


def synthesizers(tvae_epochs):
    return {NATIVE: skvae_native, "skvae one-hot (0.2.0 path)": skvae_onehot,
            f"TVAE ({tvae_epochs} epochs)": lambda train: tvae(train, tvae_epochs),
            "Gaussian copula": gaussian_copula, "independent": independent, REAL: real_rows}


# ---------------------------------------------------------------- metrics

def quality(real, synthetic):
    """SDMetrics' QualityReport: (Column Shapes, Column Pair Trends) of synthetic vs real."""
    from sdmetrics.reports import QualityReport

    categorical = categorical_columns(real)
    columns = {c: {"sdtype": "categorical" if c in categorical else "numerical"}
               for c in real.columns}
    report = QualityReport()
    report.generate({"table": real}, {"table": synthetic},
                    {"tables": {"table": {"columns": columns}}}, verbose=False)
    scores = report.get_properties().set_index("Property")["Score"]
    return float(scores["Column Shapes"]), float(scores["Column Pair Trends"])


def model_input(frame, train):
    """Features for the gradient boosting: text columns as pandas categories with the levels
    of the real training table (others become holes), the rest as floats."""
    out = {}
    for column in frame.columns:
        if column in categorical_columns(train):
            levels = sorted(train[column].dropna().astype(str).unique())
            values = frame[column].astype(object).where(frame[column].notna())
            out[column] = pd.Categorical(values.map(str, na_action="ignore"),
                                         categories=levels)
        else:
            out[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return pd.DataFrame(out)


def tstr(synthetic, train, test, target, task):
    """(score on the held-out rows of a model trained on the synthetic rows, note)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import f1_score, r2_score

    synthetic = synthetic[synthetic[target].notna()]
    features = [c for c in train.columns if c != target]
    X, X_test = (model_input(f[features], train) for f in (synthetic, test))
    if task == "regression":
        model = HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=0)
        model.fit(X, pd.to_numeric(synthetic[target]))
        return float(r2_score(test[target], model.predict(X_test))), ""
    y = synthetic[target].astype(str)
    if y.nunique() < 2:
        return 0.0, f"synthetic target has {y.nunique()} class(es): TSTR set to 0"
    model = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=0)
    model.fit(X, y)
    return float(f1_score(test[target].astype(str), model.predict(X_test),
                          average="macro")), ""


# ---------------------------------------------------------------- one row

class NotATable(Exception):
    """A synthesizer's output that cannot be read as rows of the training table."""


def synthesize(fit, train):
    """(synthetic rows as they come, fit seconds)."""
    start = time.perf_counter()
    sample = fit(train)
    seconds = time.perf_counter() - start
    return sample(len(train)), seconds


def as_table(synthetic, like):
    """The synthetic rows as a DataFrame with the columns of ``like``."""
    if isinstance(synthetic, pd.DataFrame) and list(synthetic.columns) == list(like.columns):
        return synthetic
    shape = np.shape(synthetic)
    if len(shape) != 2 or shape[1] != like.shape[1]:
        raise NotATable(f"output not a table yet: {type(synthetic).__name__} of shape "
                        f"{shape}, not {like.shape[1]} columns")
    return pd.DataFrame(np.asarray(synthetic, dtype=object), columns=like.columns).infer_objects()


def evaluate(name, fit, train, test, target, task):
    """A result row's cells for one synthesizer on one table."""
    try:
        synthetic, seconds = synthesize(fit, train)
    except (ValueError, TypeError) as exc:
        if name != NATIVE:
            raise
        return {"note": "not supported yet: " + first_line(exc)}
    synthetic = as_table(synthetic, train)
    row = {"fit s": seconds} if name != REAL else {}
    row["column shapes"], row["pair trends"] = quality(test, synthetic)
    row["quality"] = (row["column shapes"] + row["pair trends"]) / 2  # the report's score
    row["TSTR"], row["note"] = tstr(synthetic, train, test, target, task)
    return row


def first_line(exc, width=100):
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:width]


def run_table(data, table_name, tvae_epochs):
    """The rows of one table, one per synthesizer, printed as they come."""
    train, test, target, task = load_table(data, table_name)
    base = {"table": table_name, "n train": len(train), "d": train.shape[1]}
    rows = []
    for name, fit in synthesizers(tvae_epochs).items():
        row = {**base, "synthesizer": name}
        try:
            row.update(evaluate(name, fit, train, test, target, task))
        except NotATable as exc:
            row["note"] = str(exc)
        except Exception as exc:  # one failure is a row, not the end of the run
            row["note"] = "failed: " + first_line(exc)
        rows.append(row)
    real = next(r.get("TSTR") for r in rows if r["synthesizer"] == REAL)
    for row in rows:
        if isinstance(row.get("TSTR"), float) and isinstance(real, float):
            row["TSTR - real"] = row["TSTR"] - real
        table_row(row, COLUMNS)
    return rows


# ---------------------------------------------------------------- summary

def means(rows):
    """One row per synthesizer: its means over the tables where it produced rows."""
    out = []
    for name in dict.fromkeys(r["synthesizer"] for r in rows):
        done = [r for r in rows if r["synthesizer"] == name and "column shapes" in r]
        mean = {"synthesizer": name, "tables": len(done)}
        for column in MEAN_COLUMNS[2:]:
            values = [r[column] for r in done if isinstance(r.get(column), float)]
            mean[column] = float(np.mean(values)) if values else ""
        if not done:  # say why, e.g. "not supported yet"
            notes = [r["note"] for r in rows if r["synthesizer"] == name and r.get("note")]
            mean["column shapes"] = notes[0].split(":")[0] if notes else "no rows"
        out.append(mean)
    return out


def notes(tvae_epochs):
    versions = ", ".join(f"{d} {package_version(d)}"
                         for d in ("pandas", "ctgan", "torch", "sdmetrics", "scipy"))
    return [f"Benchmark packages: {versions}",
            f"Split: {1 - TEST_SIZE:.0%} / {TEST_SIZE:.0%} (random_state=0, stratified for "
            "classification); every score is against the held-out real rows",
            f"TVAE: {tvae_epochs} epochs; its training table has its holes filled (median / "
            "most frequent value): TVAE cannot take holes, the others get the holes as they are",
            "TSTR: macro F1 (classification) or R² (regression) of HistGradientBoosting "
            "trained on the synthetic rows; the mean row mixes the two, 'TSTR - real' is "
            "comparable across tables"]


def package_version(distribution):
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{', '.join(QUICK)}; TVAE {QUICK_TVAE_EPOCHS} epochs")
    parser.add_argument("--tables", help=f"comma-separated tables (default all: "
                                         f"{', '.join(TABLES)})")
    parser.add_argument("--tvae-epochs", type=int,
                        help=f"TVAE epochs (default 300, {QUICK_TVAE_EPOCHS} with --quick)")
    parser.add_argument("--data", default=os.environ.get(
        "SKVAE_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")),
        help="folder holding tables/ and mixed/ (default $SKVAE_DATA or ../shared/data)")
    args = parser.parse_args()
    names = args.tables.split(",") if args.tables else QUICK if args.quick else list(TABLES)
    unknown = [n for n in names if n not in TABLES]
    if unknown:
        parser.error(f"unknown table(s) {', '.join(unknown)}; known: {', '.join(TABLES)}")
    epochs = args.tvae_epochs or (QUICK_TVAE_EPOCHS if args.quick else 300)
    if not package_version("sdmetrics")[0].isdigit():
        parser.error("needs sdmetrics (and ctgan for TVAE): "
                     "pip install -r benchmarks/requirements-synth.txt")

    header(TITLE)
    for line in notes(epochs):
        print(f"# {line}")
    print("\n| " + " | ".join(COLUMNS) + " |", flush=True)
    rows = []
    for name in names:
        rows += run_table(args.data, name, epochs)

    print()
    body = table(rows, COLUMNS)
    with echoed() as printed:
        print("## Means over the tables\n")
        table(means(rows), MEAN_COLUMNS)
    write_results("synth", [(TITLE, body + "\n\n" + as_markdown(printed.getvalue()))],
                  args.quick, about=results_header("synth") + notes(epochs))


if __name__ == "__main__":
    with warnings.catch_warnings():
        # pandas deprecations inside sdmetrics / rdt / ctgan, repeated per column
        warnings.simplefilter("ignore", FutureWarning)
        main()
