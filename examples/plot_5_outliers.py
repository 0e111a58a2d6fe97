"""
Ranking outliers: VAEOutlierDetector against IsolationForest
============================================================

:class:`~skvae.VAEOutlierDetector` scores each row by its log-likelihood under a VAE fitted
to the data; low scores are unusual. Unlike IsolationForest, which isolates rows by random
one-feature splits, a likelihood model also notices rows whose values are each ordinary but
whose *combination* is not.

To show that, 30 outliers are added to scikit-learn's breast-cancer table (569 rows, 30
features): each outlier's features are drawn independently from the feature's own values, so
every value is typical while the relations between features are broken. Both detectors are
fitted without labels and ranked with ``score_samples``.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import IsolationForest
from sklearn.metrics import RocCurveDisplay, average_precision_score, roc_auc_score

from skvae import VAEOutlierDetector

data = load_breast_cancer()
X_normal = data.data
rng = np.random.RandomState(0)
X_outliers = np.column_stack([rng.choice(column, 30) for column in X_normal.T])
X = np.vstack([X_normal, X_outliers])
is_outlier = np.r_[np.zeros(len(X_normal)), np.ones(len(X_outliers))]

detector = VAEOutlierDetector(random_state=0).fit(X)
forest = IsolationForest(random_state=0).fit(X)
for name, model in (("VAEOutlierDetector", detector), ("IsolationForest", forest)):
    unusual = -model.score_samples(X)
    print(f"{name:19s} ROC AUC {roc_auc_score(is_outlier, unusual):.3f}   "
          f"average precision {average_precision_score(is_outlier, unusual):.3f}")
flagged = detector.predict(X) == -1
print(f"contamination='auto' flags {flagged.sum()} rows, "
      f"{int(flagged[is_outlier == 1].sum())} of the 30 outliers")

# %%
# ROC curves
# ----------
fig, ax = plt.subplots(figsize=(5, 4.5), layout="constrained")
for name, model in (("VAEOutlierDetector", detector), ("IsolationForest", forest)):
    RocCurveDisplay.from_predictions(is_outlier, -model.score_samples(X), name=name, ax=ax)
ax.set_title("Outliers with ordinary values but broken relations")

# %%
# Why is a row flagged?
# ---------------------
# :meth:`~skvae.VAEOutlierDetector.feature_log_likelihood` splits a row's log-likelihood
# by feature. Subtracting the median inlier's values shows which features make a row
# unusual. Left: the lowest-scoring row of all, one of the table's own rows, whose size
# measurements' errors are extreme (the kind of outlier IsolationForest finds too). Right:
# the lowest-scoring added row, whose values are ordinary but do not fit together.
scores = detector.score_samples(X)
per_feature = detector.feature_log_likelihood(X)
typical = np.median(per_feature[is_outlier == 0], axis=0)
rows = {
    "lowest-scoring row": int(np.argmin(scores)),
    "lowest-scoring added outlier": int(np.flatnonzero(is_outlier)[
        np.argmin(scores[is_outlier == 1])]),
}
fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
for ax, (title, row) in zip(axes, rows.items()):
    excess = per_feature[row] - typical
    order = np.argsort(excess)[:8]
    ax.barh([data.feature_names[j] for j in order], excess[order])
    ax.invert_yaxis()
    ax.set_xlabel("log p(x_j | z) minus the median inlier's (nats)")
    ax.set_title(f"{title}\n(row {row}, log-likelihood {scores[row]:.0f})", fontsize="medium")
