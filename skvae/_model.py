"""Keras core of the VAE: encoder / decoder builders, the VAE model and its fast trainer.

Nothing here knows about scikit-learn. :class:`VAE` is a plain ``keras.Model`` (usable with
``vae.compile(optimizer); vae.fit(x)``); :class:`EpochRunner` is the fast path the estimator
uses: a whole epoch runs inside one XLA-compiled ``tf.function`` over data that stays resident
as a tensor, so Python is entered once per epoch rather than once per batch.
"""

import functools

import numpy as np

from skvae import losses
from skvae._tf import import_keras
from skvae.layers import LOG_VAR_RANGE, Sampling

keras = import_keras()
ops = keras.ops
import tensorflow as tf  # noqa: E402  (after import_keras, which imports it quietly)

LIKELIHOODS = ("bernoulli", "gaussian")
ACTIVATIONS = ("relu", "selu", "elu", "tanh", "sigmoid", "softplus", "swish")
OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "nadam": keras.optimizers.Nadam,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": keras.optimizers.SGD,
}


def _dense(units, activation, seed, name):
    return keras.layers.Dense(
        units,
        activation=activation,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        name=name,
    )


def build_encoder(n_features, hidden_layer_sizes, n_components, activation, seeds):
    """x -> [mean, log_var]: a Dense stack with two linear heads.

    ``seeds`` is an iterator of ints, one per layer's initializer.
    """
    x = keras.Input((n_features,), name="x")
    h = x
    for i, units in enumerate(hidden_layer_sizes):
        h = _dense(units, activation, next(seeds), f"encoder_hidden_{i}")(h)
    mean = _dense(n_components, None, next(seeds), "z_mean")(h)
    log_var = _dense(n_components, None, next(seeds), "z_log_var")(h)
    return keras.Model(x, [mean, log_var], name="encoder")


def build_decoder(n_components, hidden_layer_sizes, n_features, activation, likelihood, seeds):
    """z -> decoder mean: the mirrored Dense stack.

    The last Dense layer is linear; for the Bernoulli likelihood a sigmoid follows it as a
    separate layer, so that training can read the logits (see :func:`decoder_logits_model`).
    """
    z = keras.Input((n_components,), name="z")
    h = z
    for i, units in enumerate(reversed(tuple(hidden_layer_sizes))):
        h = _dense(units, activation, next(seeds), f"decoder_hidden_{i}")(h)
    out = _dense(n_features, None, next(seeds), "x_mean")(h)
    if likelihood == "bernoulli":
        out = keras.layers.Activation("sigmoid", name="x_probability")(out)
    return keras.Model(z, out, name="decoder")


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
    """

    def __init__(self, encoder, decoder, likelihood="bernoulli", beta=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}; got {likelihood!r}.")
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood
        self.beta = float(beta)
        self.seed = seed
        self.sampling = Sampling(seed=seed, name="sampling")
        self._decoder_head = decoder_logits_model(decoder)
        n_features = decoder.outputs[0].shape[-1]
        if likelihood == "gaussian":
            self.x_log_var = self.add_weight(
                shape=(n_features,), initializer="zeros", name="x_log_var"
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

    def reconstruction_nll(self, x, z, training=False):
        """-log p(x | z), per row."""
        out = self._decoder_head(z, training=training)
        if self.likelihood == "bernoulli":
            return losses.bernoulli_nll(x, out)
        return losses.gaussian_nll(x, out, self.x_log_var)

    def loss_parts(self, x, training=False, eps=None):
        """Per-row (reconstruction NLL, latent loss) with one sampled z per row.

        ``eps`` fixes the noise (for a deterministic validation loss); otherwise the
        Sampling layer draws it.
        """
        mean, log_var = self.encoder(x, training=training)
        if eps is None:
            z = self.sampling([mean, log_var])
        else:
            z = mean + eps * ops.exp(ops.clip(log_var, *LOG_VAR_RANGE) / 2.0)
        return self.reconstruction_nll(x, z, training), losses.latent_loss(mean, log_var)

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
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        config["decoder"] = keras.saving.deserialize_keras_object(config["decoder"])
        return cls(**config)


def resident_tensor(array, dtype=np.float32, align=64):
    """One float32 copy of ``array`` as a tf.Tensor, without a second transient copy.

    ``tf.convert_to_tensor`` of a large array costs twice its size in RSS here (measured:
    337 MB for 165 MB of data). Instead, copy into a 64-byte-aligned NumPy buffer (the
    alignment TensorFlow's kernels assume) and hand that buffer to TensorFlow through
    DLPack, which shares it: the data then costs its own size once.
    """
    n_bytes = array.size * np.dtype(dtype).itemsize
    if n_bytes == 0:
        return tf.convert_to_tensor(np.asarray(array, dtype=dtype))
    raw = np.empty(n_bytes + align, dtype=np.uint8)
    offset = (-raw.ctypes.data) % align
    buffer = raw[offset : offset + n_bytes].view(dtype).reshape(array.shape)
    np.copyto(buffer, array, casting="same_kind")
    return tf.experimental.dlpack.from_dlpack(buffer.__dlpack__())


def make_optimizer(name, learning_rate):
    return OPTIMIZERS[name](learning_rate=learning_rate)


class EpochRunner:
    """Runs whole epochs of minibatch training inside one compiled ``tf.function``.

    The training rows live in one float32 tensor; each epoch takes a permutation (from the
    caller's random state) and a beta, and returns the mean reconstruction NLL and latent
    loss of the epoch. The loop stops at the first step whose loss is not finite, and says so.
    The last, partial batch is padded to full size and masked, so there is one shape and one
    compilation per fit.
    """

    #: XLA compilation costs ~1.5 s per fit and pays off only on large data: at 55,000 x 784
    #: an epoch runs in 0.9 s compiled against 1.3 s not, while on digits (1,617 x 64) both
    #: take 20 ms per epoch. Compile when the training data has at least this many values.
    JIT_MIN_VALUES = 2**20

    def __init__(self, vae, optimizer, batch_size, jit_compile=True):
        self.vae = vae
        self.optimizer = optimizer
        self.batch_size = int(batch_size)
        self.variables = list(vae.trainable_variables)
        optimizer.build(self.variables)
        # Fresh function objects per runner: each fit traces its own graph (new variables),
        # and TensorFlow would otherwise count those traces against one shared method and
        # warn about "retracing" after a few fits in one process.
        self._epoch = tf.function(
            functools.partial(EpochRunner._epoch_graph, self), jit_compile=jit_compile
        )
        self._evaluate = tf.function(
            functools.partial(EpochRunner._evaluate_graph, self), jit_compile=jit_compile
        )

    def _epoch_graph(self, x, order, n_rows, beta):
        bs = self.batch_size
        batches = tf.reshape(order, (-1, bs))
        n_batches = tf.shape(batches)[0]
        positions = tf.range(bs)

        def step(i, sums, finite):
            xb = tf.gather(x, batches[i])
            mask = tf.cast(i * bs + positions < n_rows, x.dtype)
            with tf.GradientTape() as tape:
                recon, kl = self.vae.loss_parts(xb, training=True)
                loss = tf.reduce_sum(mask * (recon + beta * kl)) / tf.reduce_sum(mask)
            grads = tape.gradient(loss, self.variables)
            # update_step per variable rather than optimizer.apply: apply() registers a
            # gradient function in a global TensorFlow registry each time it is traced,
            # which kept every fit's graph alive (~8 MB leaked per fit).
            lr = tf.cast(self.optimizer.learning_rate, x.dtype)
            for grad, variable in zip(grads, self.variables):
                self.optimizer.update_step(grad, variable, lr)
            self.optimizer.iterations.assign_add(1)
            parts = tf.stack([tf.reduce_sum(mask * recon), tf.reduce_sum(mask * kl)])
            return i + 1, sums + parts, tf.math.is_finite(loss)

        i, sums, finite = tf.while_loop(
            lambda i, sums, finite: tf.logical_and(i < n_batches, finite),
            step,
            (tf.constant(0), tf.zeros((2,), x.dtype), tf.constant(True)),
        )
        return sums / tf.cast(n_rows, x.dtype), finite, i

    def _evaluate_graph(self, x, eps):
        recon, kl = self.vae.loss_parts(x, training=False, eps=eps)
        return tf.stack([tf.reduce_mean(recon), tf.reduce_mean(kl)])

    def run_epoch(self, x, permutation, beta):
        """One pass over ``x`` (a tf tensor) in ``permutation``'s order.

        Returns ``(reconstruction, kl, finite, steps)``.
        """
        n_rows = len(permutation)
        n_batches = -(-n_rows // self.batch_size)
        order = np.zeros(n_batches * self.batch_size, dtype=np.int32)
        order[:n_rows] = permutation
        parts, finite, steps = self._epoch(
            x, tf.constant(order), tf.constant(n_rows, tf.int32), tf.constant(beta, x.dtype)
        )
        parts = parts.numpy()
        return float(parts[0]), float(parts[1]), bool(finite), int(steps)

    def evaluate(self, x, eps):
        """Mean (reconstruction, kl) over ``x`` with the fixed noise ``eps``."""
        parts = self._evaluate(x, eps).numpy()
        return float(parts[0]), float(parts[1])
