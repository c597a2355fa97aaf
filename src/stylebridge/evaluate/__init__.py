"""The evaluation layer: whole inversion and translation jobs scored with the metrics
(the paper's Table II and Table III). It sits above translate/ and invert/; the metrics it
uses (stylebridge.metrics: feature networks, statistics, weights) sit below them all."""

from stylebridge.evaluate.tables import (
                                         evaluate_inversion,
                                         evaluate_translation,
                                         folder_diversity,
                                         inversion_table,
                                         translation_table,
)

__all__ = ["evaluate_inversion", "evaluate_translation", "folder_diversity", "inversion_table", "translation_table"]
