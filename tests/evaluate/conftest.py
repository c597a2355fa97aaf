from tests.metrics.conftest import no_weights  # noqa: F401  (the same empty weight folders as the metric tests)
