"""scikit-learn's own estimator checks on the default estimator, with no expected failures."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skvae import VAETransformer


@parametrize_with_checks([VAETransformer()])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
