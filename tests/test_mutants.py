"""The detection power of the suite: every planted student mistake is caught, correct variants raise no alarm.

The corpus lives in tests/mutants/ (corpus.py: mistakes, variants.py: correct rewrites).
Entries run over a two-process pool once per session; each test then reads its own verdict,
so a failure names the mutant. Every escape is a product bug: fix the check, never loosen
the corpus.
"""
from __future__ import annotations

import pytest

from mutants import assignment1, assignment3
from mutants.cases import matches
from mutants.corpus import MUTANTS
from mutants.generator import EditError, student_tree
from mutants.run import run_corpus
from mutants.variants import VARIANTS

# Assignments 1 and 3 (issue 16), planted in their own course trees (Mutant.assignment).
COURSE_MUTANTS = (*assignment1.MUTANTS, *assignment3.MUTANTS)
COURSE_VARIANTS = (*assignment1.VARIANTS, *assignment3.VARIANTS)
ALL_MUTANTS, ALL_VARIANTS = (*MUTANTS, *COURSE_MUTANTS), (*VARIANTS, *COURSE_VARIANTS)
ENTRIES = {entry.id: entry for entry in (*ALL_MUTANTS, *ALL_VARIANTS)}


@pytest.fixture(scope="session")
def verdicts(request):
    """Verdicts of the entries whose tests were collected (all of them in CI), computed once in parallel."""
    wanted = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("entry_id") in ENTRIES:
            wanted.append(callspec.params["entry_id"])
    return run_corpus([ENTRIES[i] for i in dict.fromkeys(wanted)], workers=2)


def _show(results) -> str:
    return "\n".join(f"  {r[0]}: {r[1]}: {r[2]}" for r in results) or "  (no check matched)"


def test_corpus_is_large_and_distinct():
    assert len(MUTANTS) >= 60
    assert len(VARIANTS) >= 8
    assert len({e.id for e in (*MUTANTS, *VARIANTS)}) == len(MUTANTS) + len(VARIANTS), "ids must be unique"
    # Every family of the assignment has mistakes in the corpus.
    families = ["layers.affine", "layers.relu", "layers.batchnorm", "layers.layernorm", "layers.dropout",
                "layers.conv.", "layers.conv_fast", "layers.max_pool.", "layers.max_pool_fast",
                "layers.spatial_batchnorm", "layers.spatial_groupnorm", "layers.affine_relu",
                "losses.softmax", "losses.svm", "optim.sgd.", "optim.sgd_momentum", "optim.rmsprop",
                "optim.adam", "models.", "training."]
    for family in families:
        assert any(p.startswith(family) for m in MUTANTS for p in m.expected), family


def test_the_course_corpus_covers_assignments_1_and_3():
    assert len(COURSE_MUTANTS) >= 40
    assert len(ENTRIES) == len(ALL_MUTANTS) + len(ALL_VARIANTS), "ids must be unique"
    assert {e.assignment for e in COURSE_VARIANTS} == {1, 3}
    families = ["linear.svm_naive", "linear.svm_vectorized", "linear.softmax_naive", "linear.softmax_vectorized",
                "linear.classifier", "knn.two_loops", "knn.one_loop", "knn.no_loops", "knn.predict_labels",
                "knn.predict.", "models.two_layer_net", "rnn.rnn_step", "rnn.rnn.", "rnn.word_embedding",
                "rnn.temporal_affine", "rnn.temporal_softmax", "rnn.lstm_step", "rnn.lstm.",
                "models.captioning_rnn"]
    for family in families:
        assert any(p.startswith(family) for m in COURSE_MUTANTS for p in m.expected), family


@pytest.mark.parametrize("entry_id", [m.id for m in ALL_MUTANTS] + [v.id for v in ALL_VARIANTS])
def test_every_edit_applies_exactly_once(entry_id):
    """A snippet the reference no longer contains (or contains twice) fails here, not silently."""
    try:
        student_tree(ENTRIES[entry_id].edits, ENTRIES[entry_id].assignment)
    except EditError as exc:
        pytest.fail(str(exc))


@pytest.mark.parametrize("entry_id", [m.id for m in ALL_MUTANTS])
def test_mutant_is_caught(entry_id, verdicts):
    mutant, verdict = ENTRIES[entry_id], verdicts[entry_id]
    assert not verdict.setup_error, verdict.setup_error
    assert not verdict.internal, f"{entry_id}: sanitykit crashed:\n{_show(verdict.internal)}"
    wanted = "skip" if mutant.stub else "fail or error"
    assert verdict.caught, (f"{entry_id} escaped ({mutant.mistake}): no check matching "
                            f"{mutant.expected} gave {wanted}:\n{_show(verdict.expected_results)}")
    assert verdict.localised, (f"{entry_id} caught but the diagnosis does not name {mutant.diagnosis}:\n"
                               f"{_show(verdict.expected_results)}")


@pytest.mark.parametrize("entry_id", [v.id for v in ALL_VARIANTS])
def test_correct_variant_raises_no_alarm(entry_id, verdicts):
    verdict = verdicts[entry_id]
    assert not verdict.setup_error, verdict.setup_error
    assert not verdict.alarms, f"{entry_id} is correct but was flagged:\n{_show(verdict.alarms)}"


def test_scope_covers_expected():
    """A mutant's own expected checks are always inside its scope (so they never count as unrelated)."""
    for m in ALL_MUTANTS:
        for pattern in m.expected:
            probe = pattern.replace("*", "x")
            assert matches(probe, m.scope), (m.id, pattern)
