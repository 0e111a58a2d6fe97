"""scikit-learn's own estimator checks on the default estimators, with no expected failures
(NaN checks included: all three accept missing values)."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skvae import VAEImputer, VAEOutlierDetector, VAETransformer


@parametrize_with_checks([VAETransformer(), VAEImputer(), VAEOutlierDetector()])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
