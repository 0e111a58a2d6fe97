"""skvae.layers.Sampling: the reparameterisation trick as a reusable Keras layer."""

import numpy as np
import pytest

from skvae._tf import import_keras
from skvae.layers import LOG_VAR_RANGE, Sampling

keras = import_keras()


def test_sampling_has_the_requested_mean_and_variance():
    mean = np.full((20000, 2), [1.0, -3.0], dtype=np.float32)
    log_var = np.full((20000, 2), [0.0, np.log(4.0)], dtype=np.float32)
    z = keras.ops.convert_to_numpy(Sampling(seed=0)([mean, log_var]))
    assert z.shape == (20000, 2)
    np.testing.assert_allclose(z.mean(axis=0), [1.0, -3.0], atol=0.05)
    np.testing.assert_allclose(z.std(axis=0), [1.0, 2.0], rtol=0.03)


def test_seeded_layers_draw_the_same_noise_and_successive_calls_differ():
    args = [np.zeros((5, 3), np.float32), np.zeros((5, 3), np.float32)]
    a, b = Sampling(seed=7), Sampling(seed=7)
    first = keras.ops.convert_to_numpy(a(args))
    np.testing.assert_array_equal(first, keras.ops.convert_to_numpy(b(args)))
    assert not np.array_equal(first, keras.ops.convert_to_numpy(a(args)))


def test_huge_log_variance_does_not_overflow():
    z = Sampling(seed=0)([np.zeros((3, 2), np.float32), np.full((3, 2), 1e4, np.float32)])
    z = keras.ops.convert_to_numpy(z)
    assert np.all(np.isfinite(z))
    assert np.all(np.abs(z) < 10 * np.exp(LOG_VAR_RANGE[1] / 2))


def test_sampling_serializes_in_a_saved_model(tmp_path):
    mean_in, log_var_in = keras.Input((2,)), keras.Input((2,))
    model = keras.Model([mean_in, log_var_in], Sampling(seed=3, name="s")([mean_in, log_var_in]))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    layer = loaded.get_layer("s")
    assert isinstance(layer, Sampling) and layer.get_config()["seed"] == 3


def test_bad_seed_is_refused():
    with pytest.raises(TypeError, match="seed=.*must be an int or None"):
        Sampling(seed="zero")


def test_clip_layer_bounds_values_and_serializes(tmp_path):
    from skvae.layers import Clip

    inputs = keras.Input((3,))
    model = keras.Model(inputs, Clip(2.5)(inputs))
    x = np.array([[-10.0, 0.5, 3.0]], np.float32)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(x)), [[-2.5, 0.5, 2.5]])
    path = tmp_path / "clip.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(x)), [[-2.5, 0.5, 2.5]])
