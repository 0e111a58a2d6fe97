"""
A Fashion-MNIST VAE in five lines
=================================

The classic Keras VAE for Fashion-MNIST — a 784-150-100 encoder with two 10-wide heads for
the mean μ and the log-variance γ = log σ², a ``Sampling`` layer, a mirrored decoder, selu
activations, a Bernoulli likelihood and RMSprop — is a hundred lines of Keras. With skvae it
is one estimator: the five lines below load the images, fit, encode, reconstruct and
generate.

To stay fast while the documentation builds, this page fits 5,000 training images for at
most 30 epochs (a few seconds on two cores); the full training set and the default
``max_iter`` give sharper pictures. Fashion-MNIST is read from Debian's
``dataset-fashion-mnist`` package; where it is not installed, the page falls back to
scikit-learn's 8x8 digits and says so below.
"""

# %%
# Load the images
# ---------------
# :func:`~skvae.datasets.load_fashion_mnist` reads the IDX files from disk (nothing is
# downloaded) and scales the pixels to [0, 1], which the Bernoulli likelihood needs.
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skvae import VAETransformer
from skvae.datasets import load_fashion_mnist
from skvae.plotting import (plot_latent_space, plot_loss_curve, plot_reconstructions,
                            plot_samples)

# max_iter is kept short so that the page builds fast: no need to warn that it is short.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

try:
    train = load_fashion_mnist(subset="train")
    test = load_fashion_mnist(subset="test")
    X_train, X_test, y_test = train.data[:5000], test.data[:2000], test.target[:2000]
    names, image_shape = train.target_names, (28, 28)
    print("Fashion-MNIST: 5,000 training and 2,000 test images")
except FileNotFoundError:
    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    X_train, X_test, y_test = X[:1200], X[1200:], digits.target[1200:]
    names, image_shape = [str(d) for d in range(10)], (8, 8)
    print("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist): "
          "this page ran on scikit-learn's digits instead")

# %%
# The five lines (statements)
# ----------------------------
vae = VAETransformer(10, hidden_layer_sizes=(150, 100), likelihood="bernoulli",
                     optimizer="rmsprop", max_iter=30, random_state=0).fit(X_train)
Z = vae.transform(X_test)                       # latent means μ: (n_test, 10)
X_hat = vae.inverse_transform(Z)                # reconstructions (pixel probabilities)
new = vae.sample(16, random_state=0)            # 16 new images from z ~ N(0, I)
print(f"{vae.n_iter_} epochs; held-out log-likelihood {vae.score(X_test):.1f} nats per image")

# %%
# Originals above their reconstructions
# -------------------------------------
fig = plot_reconstructions(vae, X_test, image_shape, n=10)

# %%
# The latent space
# ----------------
# Ten latent components, projected on their first two principal axes and coloured by class:
# the classes the VAE never saw form regions of their own.
fig = plot_latent_space(vae, X_test, y_test, target_names=names)

# %%
# New images
# ----------
fig = plot_samples(vae, 16, image_shape, random_state=0)

# %%
# Training history
# ----------------
# The negative ELBO splits into the reconstruction term and the latent (KL) term; the
# dashed curves are the held-out 10% that early stopping watches.
fig = plot_loss_curve(vae)
