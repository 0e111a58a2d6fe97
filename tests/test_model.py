"""skvae._model: the encoder / decoder builders and the Keras VAE model."""

import numpy as np
import pytest
from scipy.special import expit

from skvae import _model
from skvae._tf import import_keras

from .conftest import binary_rows, tiny_vae

keras = import_keras()


def test_builders_make_the_documented_shapes():
    vae = tiny_vae()
    mean, log_var = vae.encoder(np.zeros((3, 6), np.float32))
    assert tuple(mean.shape) == (3, 2) and tuple(log_var.shape) == (3, 2)
    z = np.random.RandomState(0).normal(scale=3, size=(3, 2)).astype(np.float32)
    out = keras.ops.convert_to_numpy(vae.decoder(z))
    assert out.shape == (3, 6)
    # Bernoulli: the probabilities are the sigmoid of the logits that training reads (the
    # decoder without its last layer); a Gaussian decoder's mean is its own output.
    logits = keras.ops.convert_to_numpy(_model.decoder_logits_model(vae.decoder)(z))
    assert np.ptp(logits) > 1  # logits, not probabilities
    np.testing.assert_allclose(out, expit(logits), rtol=1e-6, atol=1e-7)
    gaussian = tiny_vae("gaussian").decoder
    assert _model.decoder_logits_model(gaussian) is gaussian


@pytest.mark.slow
def test_keras_users_can_compile_and_fit_the_vae_model():
    vae = tiny_vae()
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = vae.fit(binary_rows(), epochs=5, batch_size=32, verbose=0)
    assert set(history.history) == {"loss", "reconstruction", "kl"}
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_vae_config_round_trip(tmp_path):
    vae = tiny_vae("gaussian")
    vae(np.zeros((1, 6), np.float32))
    path = tmp_path / "vae.keras"
    vae.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.likelihood == "gaussian"
    x = binary_rows(5)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(vae(x)), rtol=1e-6
    )
