"""
VAE against PCA on a curved data set
====================================

PCA models data near a flat subspace; a VAE's decoder can bend. Here the rows lie near a
curve in three dimensions — ``x = (t, t², sin 2t) + noise`` with ``t`` uniform on
[-1.5, 1.5] — so one latent number describes each row, but not linearly.

Both models get one component. The Gaussian VAE starts from the better of probabilistic PCA
and factor analysis (``linear_start_``) and training bends that line into the curve. Their
held-out log-likelihoods are in the same units (nats per row, of the data as given), so
they compare directly.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA

from skvae import VAETransformer

rng = np.random.RandomState(0)
t = rng.uniform(-1.5, 1.5, 3000)
X = np.column_stack([t, t**2, np.sin(2 * t)]) + 0.05 * rng.standard_normal((3000, 3))
X_train, X_test, t_test = X[:2000], X[2000:], t[2000:]

vae = VAETransformer(n_components=1, random_state=0).fit(X_train)
pca = PCA(n_components=1).fit(X_train)
print(f"held-out log-likelihood per row: VAE {vae.score(X_test):.2f}, "
      f"PCA {pca.score(X_test):.2f} (the VAE started from {vae.linear_start_!r})")

# %%
# What each model learned
# -----------------------
# Left: the test rows (first two coordinates) with each model's one-dimensional
# reconstruction of the data, ``inverse_transform`` over a grid of latent values. Right: the
# latent value each model assigns to a row, against the ``t`` that generated it: the VAE's
# code orders the rows along the curve, PCA's folds them.
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
ax1.scatter(X_test[:, 0], X_test[:, 1], s=4, c="0.75", label="test rows")
z = np.linspace(-2.5, 2.5, 200)[:, None]
curve = vae.inverse_transform(z)
ax1.plot(curve[:, 0], curve[:, 1], "C0", lw=2, label="VAE decoder, z in [-2.5, 2.5]")
line = pca.inverse_transform(np.linspace(-2, 2, 2)[:, None] * np.sqrt(pca.explained_variance_))
ax1.plot(line[:, 0], line[:, 1], "C1", lw=2, label="PCA(1) line")
ax1.set(xlabel="x₁ = t + noise", ylabel="x₂ = t² + noise", title="data and reconstructions")
ax1.legend(fontsize="small")

ax2.scatter(t_test, vae.transform(X_test)[:, 0], s=4, label="VAE: μ")
pc = pca.transform(X_test)[:, 0]
ax2.scatter(t_test, pc / pc.std(), s=4, label="PCA: component (scaled)")
ax2.set(xlabel="t (generating coordinate)", ylabel="latent value", title="latent code against t")
ax2.legend(fontsize="small", markerscale=3)
