"""
Generating new images
=====================

A VAE is generative: :meth:`~skvae.VAETransformer.sample` draws latent codes from the prior
``z ~ N(0, I)`` and decodes them, and :meth:`~skvae.VAETransformer.inverse_transform`
decodes any code, so walking in a straight line between two images' codes morphs one image
into the other.

The model is fitted on 5,000 Fashion-MNIST images for at most 40 epochs so that this page
builds in seconds (scikit-learn's digits where Fashion-MNIST is not installed); samples of a
model fitted on all 60,000 images with the default ``max_iter`` are sharper.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skvae import VAETransformer
from skvae.datasets import load_fashion_mnist
from skvae.plotting import plot_samples

# max_iter is kept short so that the page builds fast: no need to warn that it is short.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

try:
    X, y = load_fashion_mnist(return_X_y=True)
    X, y, image_shape = X[:5000], y[:5000], (28, 28)
    print("Fashion-MNIST: 5,000 training images")
except FileNotFoundError:
    digits = load_digits()
    X, y, image_shape = digits.data / 16.0, digits.target, (8, 8)
    print("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist): "
          "this page ran on scikit-learn's digits instead")

vae = VAETransformer(n_components=8, likelihood="bernoulli", max_iter=40,
                     random_state=0).fit(X)

# %%
# Samples from the prior
# ----------------------
# ``random_state`` fixes the latent draws: the same seed gives the same images.
fig = plot_samples(vae, 36, image_shape, random_state=0)

# %%
# Interpolating between two images
# --------------------------------
# Encode two images of different classes, decode eight codes evenly spaced on the segment
# between their latent means.
first = int(np.flatnonzero(y == y[0])[0])
second = int(np.flatnonzero(y != y[0])[0])
mu = vae.transform(X[[first, second]])
steps = np.linspace(0, 1, 8)[:, None]
path = vae.inverse_transform((1 - steps) * mu[0] + steps * mu[1])

fig, axes = plt.subplots(1, 10, figsize=(10, 1.4), layout="constrained")
for ax, image, title in zip(
    axes, [X[first], *path, X[second]], ["start", *[""] * 8, "end"]
):
    ax.imshow(np.asarray(image).reshape(image_shape), cmap="gray", vmin=0, vmax=1)
    ax.set_title(title, fontsize="small")
    ax.set_axis_off()
