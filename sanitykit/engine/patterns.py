"""The vocabulary of diagnosed mistakes: every `Finding.pattern` is a key here.

Tags are API like check ids (class roll-ups and rubrics key on them): never rename one.
Each line says what the pattern means, in the words a student reads; `sanitykit list
--patterns` prints this table. Grouped by where the pattern is found.
"""
from __future__ import annotations

PATTERNS: dict[str, str] = {
    # ---- gradients (sanitykit.engine.diagnosis, gradcheck)
    "batch_size": "a gradient off by exactly the batch size N (divided by N twice, or not at all)",
    "factor": "a gradient off by one constant factor everywhere (a 2, a keep probability, a scale)",
    "sign": "a gradient with its sign flipped everywhere",
    "zeros": "a gradient (or part of it) never written: it stays zero",
    "nan": "NaN or inf in a gradient from finite inputs (an overflow or a division by zero)",
    "transposed": "a matrix product with its factors in the wrong order, or a missing transpose",
    "swapped": "the gradients returned in the wrong order",
    "shape": "a gradient of the wrong shape",
    "mask": "the forward pass's mask (ReLU, dropout, max pool) not applied in the backward pass",
    "max_route": "max pooling's gradient routed to the wrong element of its window",
    "correct_class": "a classification loss's gradient wrong only at the correct-class entries",
    "rows": "some rows (examples) or channels of a gradient wrong, the others right",
    "examples": "only the first example of a batch handled in the backward pass",
    "shifted": "a padded gradient cropped at the wrong offset (right values, wrong pixels)",
    "border": "a gradient wrong only at the border pixels (padding or stride at the edges)",
    "flipped": "a convolution kernel's gradient rotated by 180 degrees",
    "stride": "the stride ignored when placing the windows of the backward pass",
    "variance_term": "a normalisation's gradient missing the path through the variance",
    "feature_factor": "a per-feature factor (gamma) missing from a gradient, or applied twice",
    "negative_slope": "the slope for x < 0 in the backward pass differs from the forward's",
    "positive_slope": "the slope for x > 0 in the backward pass differs from the forward's",
    "regularisation": "the regularisation gradient missing or doubled",
    "wrong_axis": "a bias gradient summed over the wrong axis",
    "no_transpose": "dout reshaped to (-1, C) without moving the channels last first",
    "constant_term": "a term of the gradient that does not go through dout",
    "ignores_dout": "a backward pass that ignores dout (right only for an upstream gradient of ones)",
    "mutates_input": "a function that modifies an input array in place",
    "nondeterministic_forward": "a forward pass that gives different outputs for the same input",
    "nondeterministic_backward": "a backward pass that gives different gradients for the same cache",
    "kink": "not a mistake: central differences straddle a ReLU / max kink there",
    "unknown": "wrong, without a simple pattern: the places are listed",
}


def describe(pattern: str) -> str:
    """The one-line meaning of `pattern` (KeyError for a tag outside the vocabulary)."""
    return PATTERNS[pattern]
