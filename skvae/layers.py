"""Keras layers of the variational autoencoder.

:class:`Sampling` is the reparameterisation trick as a layer: it draws
``z = eps * exp(log_var / 2) + mean`` with ``eps ~ N(0, I)``, so gradients flow through
``mean`` and ``log_var``. It is serializable and seedable, and usable in any Keras model.
:class:`Clip` bounds what the hidden layers of skvae's encoder and decoder read.
"""

from skvae import _config
from skvae._tf import import_keras

keras = import_keras()
ops = keras.ops

#: Range to which log-variances are clipped before ``exp``, so that ``exp(log_var)`` and
#: ``exp(-log_var)`` are finite in float32 (see ``skvae._config.LOG_VAR_RANGE``).
LOG_VAR_RANGE = _config.LOG_VAR_RANGE


@keras.saving.register_keras_serializable(package="skvae")
class Sampling(keras.layers.Layer):
    """Draw ``z ~ N(mean, exp(log_var))`` with the reparameterisation trick.

    Called on ``[mean, log_var]``, two tensors of the same shape; returns ``z``, of that shape.

    Parameters
    ----------
    seed : int or None, default=None
        Seed of the layer's own :class:`keras.random.SeedGenerator`. With an int, a model
        built and called the same way draws the same ``eps`` sequence.
    **kwargs
        Standard layer arguments (``name``, ``dtype``, ...).

    Examples
    --------
    >>> import numpy as np
    >>> from skvae.layers import Sampling
    >>> z = Sampling(seed=0)([np.zeros((4, 2)), np.zeros((4, 2))])
    >>> tuple(z.shape)
    (4, 2)
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and not isinstance(seed, int):
            raise TypeError(f"Sampling(seed=...) must be an int or None; got {seed!r}.")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        mean, log_var = inputs
        eps = keras.random.normal(ops.shape(mean), dtype=mean.dtype, seed=self.seed_generator)
        return eps * ops.exp(ops.clip(log_var, *LOG_VAR_RANGE) / 2.0) + mean

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="skvae")
class Clip(keras.layers.Layer):
    """Clip every value to ``[-limit, limit]``.

    skvae's builders put it in front of the hidden layers only (the linear path reads the
    unclipped input), so that a row far outside the training data moves the non-linear part
    of the encoder and decoder by a bounded amount and is otherwise extrapolated linearly,
    as PCA and factor analysis would.

    Parameters
    ----------
    limit : float
        Values are clipped to ``[-limit, limit]``.
    **kwargs
        Standard layer arguments.

    Examples
    --------
    >>> import numpy as np
    >>> from skvae.layers import Clip
    >>> np.asarray(Clip(1.0)(np.array([[-3.0, 0.5, 2.0]], dtype="float32")))
    array([[-1. ,  0.5,  1. ]], dtype=float32)
    """

    def __init__(self, limit, **kwargs):
        super().__init__(**kwargs)
        self.limit = float(limit)

    def call(self, inputs):
        return ops.clip(inputs, -self.limit, self.limit)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "limit": self.limit}
