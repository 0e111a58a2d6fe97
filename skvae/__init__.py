"""skvae: a variational autoencoder that behaves like a scikit-learn transformer.

>>> from skvae import VAETransformer
"""

from skvae._transformer import VAETransformer

__version__ = "0.1.0"
__all__ = ["VAETransformer", "__version__"]
