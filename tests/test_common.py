"""scikit-learn's own estimator checks, with no expected failures."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skvae import VAETransformer


# Small network and few epochs: the checks test the contract, not the fit's quality.
@parametrize_with_checks(
    [VAETransformer(hidden_layer_sizes=(16,), max_iter=20, n_importance_samples=4)]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
