"""skvae.plotting: each picture renders, draws where it is told, and says what it shows."""

import sys
from io import BytesIO

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from skvae import VAETransformer
from skvae.plotting import (
    plot_latent_space,
    plot_loss_curve,
    plot_reconstructions,
    plot_samples,
)

plt = pytest.importorskip("matplotlib.pyplot", reason="skvae.plotting needs matplotlib")
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


@pytest.fixture(scope="module")
def digits(digits01):
    X, y = digits01
    return X[:400], y[:400]


def _fit(X, **params):
    params = {
        "n_components": 2,
        "hidden_layer_sizes": (32,),
        "likelihood": "bernoulli",
        "max_iter": 3,
        "random_state": 0,
        **params,
    }
    return VAETransformer(**params).fit(X)


@pytest.fixture(scope="module")
def vae(digits):
    return _fit(digits[0])


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def png_bytes(fig):
    buffer = BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "draw",
    [
        lambda vae, X, y: plot_latent_space(vae, X, y),
        lambda vae, X, y: plot_reconstructions(vae, X, (8, 8)),
        lambda vae, X, y: plot_samples(vae, 9, (8, 8), random_state=0),
        lambda vae, X, y: plot_loss_curve(vae),
    ],
    ids=["latent_space", "reconstructions", "samples", "loss_curve"],
)
def test_each_plot_renders_to_png(vae, digits, draw):
    from matplotlib.figure import Figure

    fig = draw(vae, *digits)
    assert isinstance(fig, Figure)
    data = png_bytes(fig)
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 2_000  # more than a blank canvas


def test_ax_argument_draws_into_the_given_axes(vae, digits):
    fig, (left, right) = plt.subplots(1, 2)
    assert plot_latent_space(vae, *digits, ax=right) is fig
    assert plot_loss_curve(vae, ax=left) is fig
    assert len(right.collections) == 10  # one scatter per digit class
    assert not right.get_lines()
    assert left.get_lines() and not left.collections
    assert len(fig.axes) == 2


def test_image_grids_draw_into_the_given_figure_or_subfigure(vae, digits):
    fig = plt.figure()
    top, bottom = fig.subfigures(2, 1)
    assert plot_reconstructions(vae, digits[0], (8, 8), n=4, fig=top) is top
    assert plot_samples(vae, 6, (8, 8), random_state=0, fig=bottom) is bottom
    assert len(fig.axes) == 2 * 4 + 6
    assert png_bytes(fig).startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(
    "n_components, xlabel, ylabel",
    [
        (1, "row index", "latent mean (z1)"),
        (2, "latent mean 1 (z1)", "latent mean 2 (z2)"),
        (3, "PC1 of latent means", "PC2 of latent means"),
    ],
)
def test_latent_space_axes_say_what_they_show(digits, n_components, xlabel, ylabel):
    X, y = digits
    vae = _fit(X, n_components=n_components, max_iter=1)
    ax = plot_latent_space(vae, X, y).axes[0]
    assert ax.get_xlabel().startswith(xlabel)
    assert ax.get_ylabel().startswith(ylabel)
    points = np.vstack([c.get_offsets() for c in ax.collections])
    assert points.shape == (len(X), 2)
    if n_components > 2:
        assert "of variance" in ax.get_xlabel()
        assert "projected on 2 principal axes" in ax.get_title()


def test_latent_space_of_two_components_plots_the_latent_means(vae, digits):
    X, _ = digits
    ax = plot_latent_space(vae, X).axes[0]
    np.testing.assert_allclose(ax.collections[0].get_offsets(), vae.transform(X))


def test_latent_space_legend_uses_target_names(vae, digits):
    X, y = digits
    keep = y < 3
    ax = plot_latent_space(vae, X[keep], y[keep], target_names=NAMES).axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["zero", "one", "two"]


def test_latent_space_continuous_y_gets_a_colour_bar(vae, digits):
    X, _ = digits
    fig = plot_latent_space(vae, X, X.mean(axis=1))
    assert len(fig.axes) == 2  # the plot and its colour bar
    assert fig.axes[0].get_legend() is None


def test_latent_space_rejects_target_names_that_do_not_match_y(vae, digits):
    X, y = digits
    labels = np.array(NAMES)[y]
    with pytest.raises(ValueError, match="target_names has 3 names, indexed by integer label"):
        plot_latent_space(vae, X, y, target_names=NAMES[:3])
    with pytest.raises(ValueError, match=r"holds the labels \['eight', 'five'"):
        plot_latent_space(vae, X, labels, target_names=NAMES)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        plot_latent_space(vae, X, y[:-1])
    with pytest.raises(ValueError, match="y must hold one class label or one number per row"):
        plot_latent_space(vae, X, np.column_stack([y, y]))


def test_reconstructions_show_originals_above_reconstructions(vae, digits):
    X, _ = digits
    fig = plot_reconstructions(vae, X, (8, 8), n=3)
    assert len(fig.axes) == 6
    assert not any(ax.axison for ax in fig.axes)
    expected = vae.inverse_transform(vae.transform(X[:3]))
    for i in range(3):
        top, bottom = fig.axes[i], fig.axes[3 + i]
        np.testing.assert_allclose(top.images[0].get_array(), X[i].reshape(8, 8))
        np.testing.assert_allclose(bottom.images[0].get_array(), expected[i].reshape(8, 8))
        assert bottom.images[0].get_clim() == (0.0, 1.0)  # one grey scale for both rows
        assert bottom.images[0].get_cmap().name == "gray"


def test_reconstructions_cap_n_at_the_number_of_rows(vae, digits):
    fig = plot_reconstructions(vae, digits[0][:2], (8, 8), n=10)
    assert len(fig.axes) == 4


def test_samples_are_reproducible_with_random_state(vae):
    fig = plot_samples(vae, 5, (8, 8), random_state=0)
    shown = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert len(shown) == 5
    assert len(fig.axes) == 6  # a 2 x 3 grid, the last cell empty
    expected = vae.sample(5, random_state=0)
    np.testing.assert_allclose(np.stack(shown), expected.reshape(5, 8, 8))
    again = plot_samples(vae, 5, (8, 8), random_state=0, n_cols=5)
    assert len(again.axes) == 5
    np.testing.assert_allclose(again.axes[4].images[0].get_array(), shown[4])


@pytest.mark.parametrize("early_stopping", [True, False])
def test_loss_curve_has_validation_lines_only_with_early_stopping(digits, early_stopping):
    vae = _fit(digits[0], max_iter=4, early_stopping=early_stopping)
    ax = plot_loss_curve(vae).axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    training = ["training loss", "training reconstruction", "training KL"]
    validation = ["validation loss", "validation reconstruction", "validation KL"]
    assert set(training) <= set(labels)
    assert (set(validation) <= set(labels)) is early_stopping
    assert any(label.startswith("best epoch") for label in labels) is early_stopping
    if not early_stopping:
        assert not any("validation" in label for label in labels)
    loss = ax.get_lines()[labels.index("training loss")]
    np.testing.assert_array_equal(loss.get_xdata(), np.arange(1, vae.n_iter_ + 1))
    np.testing.assert_allclose(loss.get_ydata(), vae.loss_curve_)


@pytest.mark.parametrize(
    "draw, message",
    [
        (
            lambda vae, X: plot_reconstructions(vae, X, (7, 7)),
            r"image_shape=\(7, 7\) holds 49 pixels, but X has 64 features",
        ),
        (
            lambda vae, X: plot_samples(vae, 4, (4, 4)),
            r"image_shape=\(4, 4\) holds 16 pixels, but the fitted estimator has 64",
        ),
        (
            lambda vae, X: plot_samples(vae, 4, (64,)),
            r"image_shape must be \(height, width\).*got image_shape=\(64,\)",
        ),
        (
            lambda vae, X: plot_reconstructions(vae, X, (8, 8), n=0),
            "n must be a positive int; got n=0",
        ),
        (
            lambda vae, X: plot_samples(vae, 2.5, (8, 8)),
            "n must be a positive int; got n=2.5",
        ),
    ],
    ids=["reconstructions-shape", "samples-shape", "one-dimension", "n-zero", "n-float"],
)
def test_bad_image_arguments_are_named(vae, digits, draw, message):
    with pytest.raises(ValueError, match=message):
        draw(vae, digits[0])


# Each plot function, called on (estimator, X) with valid arguments.
EVERY_PLOT = [
    lambda vae, X: plot_latent_space(vae, X),
    lambda vae, X: plot_reconstructions(vae, X, (8, 8)),
    lambda vae, X: plot_samples(vae, 4, (8, 8)),
    lambda vae, X: plot_loss_curve(vae),
]
EVERY_PLOT_IDS = ["latent_space", "reconstructions", "samples", "loss_curve"]


@pytest.mark.parametrize("draw", EVERY_PLOT, ids=EVERY_PLOT_IDS)
def test_unfitted_estimator_is_a_not_fitted_error(digits, draw):
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        draw(VAETransformer(), digits[0])


@pytest.mark.parametrize("draw", EVERY_PLOT, ids=EVERY_PLOT_IDS)
def test_missing_matplotlib_says_how_to_install_it(vae, digits, monkeypatch, draw):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "skvae\[plot\]"'):
        draw(vae, digits[0])
