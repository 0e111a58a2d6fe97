"""The Keras model of the VAE: the one encoder / decoder builder and the ``keras.Model``.

Nothing here knows about scikit-learn. :class:`VAE` is a plain ``keras.Model`` (usable with
``vae.compile(optimizer); vae.fit(x)``); the estimators train it through
:mod:`skvae._engine`, which runs whole epochs in one compiled function.
"""

import numpy as np

from skvae import _config, losses
from skvae._tf import import_keras
from skvae.layers import Clip, Sampling

keras = import_keras()
ops = keras.ops
import tensorflow as tf  # noqa: E402  (after import_keras, which imports it quietly)

def _dense(units, activation, seed, name):
    return keras.layers.Dense(
        units,
        activation=activation,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        name=name,
    )


def build_encoder(
    n_features, hidden_layer_sizes, n_components, activation, seeds, missing_indicator=False
):
    """x -> [mean, log_var]: a Dense stack with two linear heads.

    With ``missing_indicator`` the encoder reads ``[x, missing]`` (2 * n_features values: the
    row with its missing cells filled with 0, then 1 where a cell is missing), so that it
    can tell a missing cell from an observed 0.

    With hidden layers, the heads read the input itself beside the last hidden layer
    (``concat([x, h])``): the encoder contains a linear map, so the VAE contains probabilistic
    PCA and factor analysis as special cases (see :func:`set_linear_solution`).
    ``seeds`` is an iterator of ints, one per layer's initializer.
    """
    x = keras.Input((2 * n_features if missing_indicator else n_features,), name="x")
    head_input = _hidden_stack(x, hidden_layer_sizes, activation, seeds, "encoder")
    mean = _dense(n_components, None, next(seeds), "z_mean")(head_input)
    log_var = _dense(n_components, None, next(seeds), "z_log_var")(head_input)
    return keras.Model(x, [mean, log_var], name="encoder")


def build_decoder(n_components, hidden_layer_sizes, n_features, activation, likelihood, seeds):
    """z -> decoder mean: the mirrored Dense stack, its head reading ``concat([z, h])``.

    The last Dense layer is linear; for the Bernoulli likelihood a sigmoid follows it as a
    separate layer, so that training can read the logits (see :func:`decoder_logits_model`).
    """
    z = keras.Input((n_components,), name="z")
    head_input = _hidden_stack(
        z, tuple(reversed(tuple(hidden_layer_sizes))), activation, seeds, "decoder"
    )
    out = _dense(n_features, None, next(seeds), "x_mean")(head_input)
    if likelihood == "bernoulli":
        out = keras.layers.Activation("sigmoid", name="x_probability")(out)
    return keras.Model(z, out, name="decoder")




def _hidden_stack(inputs, sizes, activation, seeds, prefix):
    h = inputs
    if sizes:
        h = Clip(_config.HIDDEN_INPUT_LIMIT[prefix], name=f"{prefix}_clip")(h)
    for i, units in enumerate(sizes):
        h = _dense(units, activation, next(seeds), f"{prefix}_hidden_{i}")(h)
    if not sizes:
        return inputs
    return keras.layers.Concatenate(name=f"{prefix}_skip")([inputs, h])


def decoder_logits_model(decoder):
    """The decoder without its final sigmoid (shares its layers), or the decoder itself."""
    last = decoder.layers[-1]
    if isinstance(last, keras.layers.Activation):
        return keras.Model(decoder.inputs, last.input, name="decoder_logits")
    return decoder


@keras.saving.register_keras_serializable(package="skvae")
class VAE(keras.Model):
    """Encoder + Sampling + decoder, trained on ``reconstruction NLL + beta * latent loss``.

    Parameters
    ----------
    encoder : keras.Model, x -> [mean, log_var]
    decoder : keras.Model, z -> decoder mean (probabilities for ``likelihood="bernoulli"``)
    likelihood : {"bernoulli", "gaussian"}
        For "gaussian" the model owns ``x_log_var``, a learned log-variance per feature.
    beta : float
        Weight of the latent loss (the KL divergence to N(0, I)).
    seed : int or None
        Seed of the Sampling layer.
    noise_floor : float or sequence of float (one per feature)
        Gaussian likelihood only: the per-feature variance is ``noise_floor + exp(x_log_var)``,
        never below the floor (a constant feature would otherwise drive its log-variance
        down for ever, and its density up without bound).
    categorical_blocks : sequence of (start, stop)
        Column ranges that one-hot encode a categorical feature: the decoder's outputs there
        are logits of a softmax over the block (:func:`skvae.losses.categorical_nll`), and
        ``likelihood`` covers the other columns.
    """

    def __init__(
        self, encoder, decoder, likelihood="bernoulli", beta=1.0, seed=None, noise_floor=1e-6,
        categorical_blocks=(), **kwargs,
    ):
        super().__init__(**kwargs)
        if likelihood not in _config.LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {_config.LIKELIHOODS}; got {likelihood!r}.")
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood
        self.beta = float(beta)
        self.seed = seed
        floor = _checked_floor(noise_floor)
        self.noise_floor = floor.tolist() if floor.ndim else float(floor)
        self.categorical_blocks = tuple((int(a), int(b)) for a, b in categorical_blocks)
        self.sampling = Sampling(seed=seed, name="sampling")
        self._decoder_head = decoder_logits_model(decoder)
        n_features = decoder.outputs[0].shape[-1]
        # An encoder that reads [x, missing] (see build_encoder): rows then carry both.
        self.masked = encoder.inputs[0].shape[-1] == 2 * n_features
        self.n_features = n_features
        if likelihood == "gaussian":
            self.x_log_var = self.add_weight(
                shape=(n_features,), initializer="zeros", name="x_log_var"
            )
            # A variable, not a constant, so that a compiled training step can be reused for
            # another data set with other constant features (see TrainerCache).
            log_floor = np.broadcast_to(np.log(floor), (n_features,))
            self.log_noise_floor = self.add_weight(
                shape=(n_features,),
                initializer=keras.initializers.Constant(log_floor),
                trainable=False,
                name="log_noise_floor",
            )
        self.total_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")

    def build(self, input_shape=None):
        # The encoder and decoder arrive built (functional models) and x_log_var is made in
        # __init__: there is no state left to create.
        self.built = True

    def call(self, x, training=False):
        mean, log_var = self.encoder(x, training=training)
        z = self.sampling([mean, log_var]) if training else mean
        return self.decoder(z, training=training)

    def reconstruction_nll(self, x, z, training=False, observed=None):
        """-log p(x | z), per row, over the ``observed`` entries (None: all)."""
        out = self._decoder_head(z, training=training)
        blocks = self.categorical_blocks
        if blocks:
            categorical = losses.categorical_nll(x, out, blocks, observed)
            # The numeric likelihood over every column, with the blocks' columns masked out
            # (their logits zeroed first, so that no term there can overflow): cheaper than
            # gathering the numeric columns of x, out, observed and the variances each step.
            numeric = self._numeric_mask
            out = out * numeric
            observed = numeric if observed is None else observed * numeric
        if self.likelihood == "bernoulli":
            numeric_nll = losses.bernoulli_nll(x, out, observed)
        else:
            numeric_nll = losses.gaussian_nll(x, out, self.noise_log_var(), observed)
        return numeric_nll + categorical if blocks else numeric_nll

    @property
    def _numeric_mask(self):
        """1.0 for the columns outside the categorical blocks, 0.0 inside (float32)."""
        mask = np.ones(self.n_features, np.float32)
        for start, stop in self.categorical_blocks:
            mask[start:stop] = 0.0
        return mask

    def set_noise_floor(self, noise_floor):
        """Set the Gaussian likelihood's per-feature variance floor (``noise_floor``)."""
        floor = np.broadcast_to(_checked_floor(noise_floor), (self.n_features,))
        self.noise_floor = floor.tolist()
        self.log_noise_floor.assign(np.log(floor).astype(np.float32))

    def noise_log_var(self):
        """The Gaussian likelihood's per-feature log-variance, floored at ``noise_floor``."""
        return ops.logaddexp(self.x_log_var, self.log_noise_floor)

    def loss_parts(self, x, training=False, eps=None):
        """Per-row (reconstruction NLL, latent loss) with one sampled z per row.

        ``eps`` fixes the noise (for a deterministic validation loss); otherwise the
        Sampling layer draws it. For a masked model the rows are ``[x, missing]`` and the
        reconstruction counts the observed entries only.
        """
        mean, log_var = self.encoder(x, training=training)
        if eps is None:
            z = self.sampling([mean, log_var])
        else:
            z = mean + eps * ops.exp(ops.clip(log_var, *_config.LOG_VAR_RANGE) / 2.0)
        observed = None
        if self.masked:
            x, observed = x[:, : self.n_features], 1.0 - x[:, self.n_features :]
        recon = self.reconstruction_nll(x, z, training, observed)
        return recon, losses.latent_loss(mean, log_var)

    def train_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        with tf.GradientTape() as tape:
            recon, kl = self.loss_parts(x, training=True)
            loss = ops.mean(recon + self.beta * kl)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        self.total_tracker.update_state(loss)
        self.reconstruction_tracker.update_state(ops.mean(recon))
        self.kl_tracker.update_state(ops.mean(kl))
        return {m.name: m.result() for m in self.metrics}

    @property
    def metrics(self):
        return [self.total_tracker, self.reconstruction_tracker, self.kl_tracker]

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "likelihood": self.likelihood,
            "beta": self.beta,
            "seed": self.seed,
            "noise_floor": self.noise_floor,
            "categorical_blocks": [list(b) for b in self.categorical_blocks],
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        config["decoder"] = keras.saving.deserialize_keras_object(config["decoder"])
        return cls(**config)


def _checked_floor(noise_floor):
    """``noise_floor`` as a float64 array, or a ValueError unless every value is > 0."""
    floor = np.asarray(noise_floor, dtype=np.float64)
    if not np.all(floor > 0):
        raise ValueError(f"noise_floor must be > 0; got {noise_floor!r}.")
    return floor


def set_linear_solution(vae, loadings, noise_variance, mean):
    """Set the VAE's weights to the linear Gaussian model ``x = W z + mean + noise``.

    ``loadings`` W is (n_features, r) with r <= n_components, ``noise_variance`` the
    per-feature variance (probabilistic PCA: all equal; factor analysis: one each). W is
    rotated so that ``W' Psi^-1 W`` is diagonal (D); the exact posterior is then
    ``N((I + D)^-1 W' Psi^-1 (x - mean), (I + D)^-1)`` with a diagonal covariance, which the
    encoder's linear path and log-variance bias represent exactly, and the decoder's linear
    path is W. The ELBO then equals the linear model's log-likelihood, and training starts
    from it. The non-linear paths' head weights are zeroed (their hidden layers keep their
    random initialisation, so they start learning at the first step); latent components
    beyond r start as unused (prior) components.
    """
    encoder, decoder = vae.encoder, vae.decoder
    n_features, rank = loadings.shape
    n_components = encoder.get_layer("z_mean").units
    scaled = loadings / noise_variance[:, None]
    for start, stop in vae.categorical_blocks:
        scaled[start:stop] = 0  # the encoder's linear path reads the numeric columns only
    strengths, rotation = np.linalg.eigh(loadings.T @ scaled)
    order = np.argsort(strengths)[::-1]
    strengths, rotation = np.maximum(strengths[order], 0.0), rotation[:, order]
    loadings = loadings @ rotation
    flip = np.sign(loadings[np.argmax(np.abs(loadings), axis=0), np.arange(rank)])
    flip[flip == 0] = 1
    loadings, rotation = loadings * flip, rotation * flip

    def head(layer, kernel_top, bias):
        kernel = np.zeros(layer.kernel.shape, np.float32)
        kernel[: kernel_top.shape[0], : kernel_top.shape[1]] = kernel_top
        layer.set_weights([kernel, bias.astype(np.float32)])

    enc = (scaled @ rotation) / (1.0 + strengths)
    head(encoder.get_layer("z_mean"), enc, np.pad(-mean @ enc, (0, n_components - rank)))
    head(
        encoder.get_layer("z_log_var"),
        np.zeros((n_features, n_components)),
        np.pad(-np.log1p(strengths), (0, n_components - rank)),
    )
    mean = np.array(mean, np.float64)
    for start, stop in vae.categorical_blocks:
        # Indicators' linear model x = W z + p as logits: log p + W z / p to first order.
        p = np.clip(mean[start:stop], 1e-3, 1.0)
        loadings[start:stop] /= p[:, None]
        mean[start:stop] = np.log(p)
    head(decoder.get_layer("x_mean"), loadings.T, mean)
    floor = np.exp(np.asarray(vae.log_noise_floor.numpy(), np.float64))
    excess = np.asarray(noise_variance, np.float64) - floor
    vae.x_log_var.assign(np.log(np.maximum(excess, 1e-3 * floor)).astype(np.float32))


def build_vae(n_features, arch, beta, seeds, noise_floor):
    """The one builder of the Keras VAE, used by ``fit`` and by unpickling alike: ``arch`` holds
    n_components, hidden_layer_sizes, activation, likelihood and missing_indicator; ``seeds``
    is an iterator of ints for the layers' initializers and the noise stream."""
    hidden = arch["hidden_layer_sizes"]
    encoder = build_encoder(
        n_features, hidden, arch["n_components"], arch["activation"], seeds,
        missing_indicator=arch.get("missing_indicator", False),
    )
    decoder = build_decoder(
        arch["n_components"], hidden, n_features, arch["activation"], arch["likelihood"], seeds
    )
    return VAE(
        encoder, decoder, arch["likelihood"], beta, seed=next(seeds), noise_floor=noise_floor,
        categorical_blocks=arch.get("categorical_blocks", ()),
    )
