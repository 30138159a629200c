"""Detection power per pattern on the in-repo corpus (tests/mutants): a benchmark, not a test.

Every planted mistake of the corpus (assignments 1, 2 and 3) belongs to a family: the pattern
tag a check must carry to have *named* it (`Mutant.pattern`, else FAMILY below; "(no tag yet)"
when the vocabulary has none for it yet: those count as planted, detected and localised only). Each mutant runs the checks of its selection, as
tests/test_mutants.py does; each correct variant runs every suite of its assignment. Printed,
one row per family:

  planted     mutants of the family
  detected    an expected check failed or errored (skipped, for a stub)
  localised   ... and its message names the corpus entry's diagnosis words
  named       ... and its diagnosis pattern is the family's tag
  misnamed    ... but its pattern is another tag (not "unknown"): a wrong cause named
  false alarms  fail / error on a correct variant, counted under the pattern it claimed

    python benchmarks/detection_power.py [--workers 2] [--only ID ...] [--markdown] [--misses]
                                         [--save FILE.json | --load FILE.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from mutants import assignment1, assignment3  # noqa: E402
from mutants.cases import Mutant, judge_mutant, matches  # noqa: E402
from mutants.corpus import MUTANTS  # noqa: E402
from mutants.generator import materialise  # noqa: E402
from mutants.run import ASSIGNMENT_SUITES  # noqa: E402
from mutants.variants import VARIANTS  # noqa: E402

from sanitykit.engine.patterns import PATTERNS  # noqa: E402
from sanitykit.front.runner import check  # noqa: E402

ALL_MUTANTS = (*MUTANTS, *assignment1.MUTANTS, *assignment3.MUTANTS)
ALL_VARIANTS = (*VARIANTS, *assignment1.VARIANTS, *assignment3.VARIANTS)
NO_FAMILY = "(no tag yet)"

# The family of each mutant that does not say it itself (Mutant.pattern wins): the tag a
# student's report must carry to name the mistake, read from the mistake, never from what the
# suite happens to say about it. A tuple lists tags of the vocabulary that say the same thing
# (the first is the table's row); entries absent here have no tag yet.
NOT_STORED = ("state_not_carried", "state_missing", "state_not_updated")
WRONG_AXIS = ("reduced_wrong_axis", "wrong_axis")
STRIDE = ("stride", "output_size")
FAMILY: dict[str, str | tuple[str, ...]] = {
    # affine, activations, sandwiches
    "affine_forward_no_bias": "row_offset", "affine_dw_over_n": "batch_size", "affine_db_mean": "batch_size",
    "affine_dw_transposed": "reversed_shape", "affine_db_wrong_axis": WRONG_AXIS,
    "affine_dx_not_reshaped": "shape", "affine_backward_ignores_dout": "ignores_dout",
    "relu_backward_no_mask": "mask", "relu_backward_masks_dout": "mask_wrong_array",
    "relu_forward_in_place": "mutates_input", "tanh_backward_not_squared": "tanh_derivative",
    "affine_relu_backward_skips_relu": "mask", "conv_relu_pool_backward_skips_relu": "mask",
    # batchnorm, layernorm
    "batchnorm_test_uses_batch_stats": "batch_stats_at_test", "batchnorm_momentum_swapped": "swapped_decay",
    "batchnorm_running_not_stored": ("state_missing", "state_not_updated"),
    "batchnorm_unbiased_variance": "unbiased_variance", "batchnorm_backward_no_mean_path": "mean_term",
    "batchnorm_backward_dvar_no_half": "variance_term", "batchnorm_backward_dbeta_mean": "batch_size",
    "batchnorm_alt_forgot_gamma": "feature_factor", "layernorm_over_batch": "wrong_axis",
    "layernorm_backward_batch_axis": "mixes_examples", "layernorm_dgamma_wrong_axis": WRONG_AXIS,
    # dropout
    "dropout_no_rescale": "no_rescale", "dropout_p_as_drop_probability": "drop_probability",
    "dropout_backward_ignores_mask": "mask", "dropout_test_mode_drops": "dropout_at_test",
    "dropout_ignores_seed": "seed_ignored",
    # conv, pool, spatial
    "conv_backward_wrong_crop": "shifted", "conv_backward_stride_ignored": "stride",
    "conv_db_wrong_axis": WRONG_AXIS, "conv_forward_flipped_kernel": "flipped",
    "conv_fast_dw_over_n": "batch_size", "conv_fast_wrong_crop": "shifted",
    "conv_fast_stride_ignored": STRIDE, "conv_forward_stride_ignored": STRIDE,
    "max_pool_forward_stride_ignored": STRIDE, "max_pool_backward_to_every_element": "mask",
    "max_pool_backward_argmin": "max_route", "max_pool_fast_backward_to_every_element": "mask",
    "spatial_batchnorm_backward_no_transpose": "no_transpose",
    "groupnorm_whole_sample": ("group_axes", "wrong_axis"), "groupnorm_dbeta_mean": "batch_size",
    # losses
    "softmax_no_max_subtraction": "overflow", "softmax_dx_not_averaged": "batch_size",
    "softmax_summed": "batch_size", "svm_summed": "batch_size",
    "softmax_dx_forgot_minus_one": "correct_class", "svm_margin_zero": "svm_margin",
    "svm_dx_missing_count": "correct_class",
    # update rules
    "sgd_wrong_sign": "sign", "sgd_momentum_sign": "sign", "sgd_momentum_velocity_not_stored": NOT_STORED,
    "sgd_momentum_ignores_config": "lr_ignored", "rmsprop_cache_not_stored": NOT_STORED,
    "adam_no_bias_correction": "no_bias_correction", "adam_t_incremented_after": "t_zero",
    "adam_m_not_stored": NOT_STORED,
    # models, training
    "fc_reg_grad_missing": "regularisation", "reg_loss_without_half": ("reg_half", "reg_convention"),
    "two_layer_reg_grad_doubled": "regularisation", "two_layer_svm_loss": "wrong_loss",
    "fc_weights_zero": "zero_init", "fc_biases_random_large": "bias_init", "fc_gamma_init_zero": "norm_init",
    "two_layer_weights_zero": "zero_init", "fc_weight_scale_ignored": "init_scale",
    "fc_batchnorm_never_test_mode": "batch_stats_at_test", "fc_dropout_in_test_mode": "dropout_at_test",
    "fc_dropout_backward_skipped": "mask", "cnn_reg_grad_missing_w1": "regularisation",
    "cnn_w2_not_scaled": "init_scale", "he_init_is_xavier": "init_scale", "conv_fan_in_filters": "fan_in",
    "mean_image_on_train_and_val": "data_leak", "solver_no_lr_decay": "lr_decay",
    "solver_keeps_last_params": "best_params", "solver_labels_resampled": "minibatch_labels",
    # assignment 1
    "svm_naive_no_margin": "svm_margin", "svm_vectorized_no_margin": "svm_margin",
    "svm_naive_no_correct_column": "correct_class", "svm_naive_dw_not_averaged": "batch_size",
    "svm_vectorized_summed": "batch_size", "svm_vectorized_loops": "python_loop",
    "softmax_vectorized_loops": "python_loop", "svm_vectorized_dw_transposed": "reversed_shape",
    "reg_gradient_of_2016_with_2017_loss": ("reg_mismatch", "reg_half"),
    "reg_missing_from_loss": ("reg_mismatch", "reg_missing"),
    "reg_missing_from_gradient": ("reg_mismatch", "regularisation"), "softmax_naive_sign": "sign",
    "softmax_naive_no_minus_one": "correct_class", "softmax_vectorized_no_minus_one": "correct_class",
    "softmax_naive_dw_twice_averaged": "batch_size", "softmax_vectorized_log10": "natural_log",
    "softmax_vectorized_summed": "batch_size", "train_uphill": "uphill_step",
    "train_whole_set": "minibatch_size", "train_labels_drawn_apart": "minibatch_labels",
    "train_no_history": "no_history", "train_ignores_learning_rate": "lr_ignored",
    "predict_over_examples": "predict_axis", "knn_two_loops_no_sqrt": "distance_formula",
    "knn_one_loop_l1": "distance_formula", "knn_no_loops_sign": "distance_formula",
    "knn_no_loops_loops": "python_loop", "knn_ties_by_counter": "tie_break", "knn_farthest": "nearest_wrong",
    "knn_k_ignored": "nearest_wrong", "knn_predict_k_lost": "nearest_wrong",
    "net_reg_gradient_half": ("reg_mismatch", "reg_half", "regularisation"), "net_reg_without_w2": "reg_partial",
    "net_zero_init": "zero_init",
    # assignment 3
    "rnn_step_tanh_one_minus_h": "tanh_derivative", "rnn_step_no_tanh_derivative": "tanh_derivative",
    "step_dwh_transposed": ("transposed", "reversed_shape"), "step_db_wrong_axis": WRONG_AXIS,
    "rnn_backward_no_accumulation": "no_accumulation", "lstm_backward_no_accumulation": "no_accumulation",
    "rnn_backward_weights_overwritten": ("weights_not_summed", "overwritten"), "rnn_backward_no_dh0": "h0_gradient",
    "embedding_repeats_lost": "repeated_words", "embedding_grad_averaged": ("factor", "batch_size"),
    "temporal_affine_db_per_step": "not_reduced", "temporal_loss_by_words": "loss_normalisation",
    "temporal_loss_mask_ignored": "mask_ignored", "temporal_dx_unmasked": ("mask_ignored", "mask"),
    "lstm_gates_o_g_swapped": "gate_order", "lstm_backward_gates_swapped": "gate_order",
    "lstm_cell_path_cut": "cell_path", "lstm_dprev_c_without_f": "cell_path",
    "lstm_backward_no_cell_carry": "cell_path", "lstm_tanh_derivative_of_g": "tanh_derivative",
    "captions_not_shifted": "caption_shift", "captions_null_counted": "null_mask",
    "captions_mask_from_inputs": "null_mask", "captions_no_projection_gradient": "zeros",
    "sample_start_fed_back": "sample_feedback", "sample_from_zero_state": "sample_start",
    # tagged once the vocabulary had their words (read from the mistake, as above)
    "sigmoid_backward_missing_s": "sigmoid_derivative", "conv_forward_no_bias": "row_offset",
    "affine_bn_relu_backward_wrong_dout": "mask", "svm_counts_correct_class": "correct_class",
    "svm_naive_counts_correct_class": "correct_class", "svm_vectorized_correct_class_counted": "correct_class",
    "channel_mean_is_mean_image": WRONG_AXIS, "knn_no_loops_transposed": ("transposed", "reversed_shape"),
    "net_train_uphill": "uphill_step", "net_train_labels_apart": "minibatch_labels",
    "net_predict_over_examples": "predict_axis", "embedding_flattened": "shape",
}


@dataclass
class Measured:
    """One corpus entry's result, as plain data (it crosses process boundaries)."""

    id: str
    kind: str
    family: tuple = ()                             # the accepted tags, the row's first
    caught: bool = False
    localised: bool = False
    patterns: list = field(default_factory=list)   # diagnosis patterns of the catching checks
    alarms: list = field(default_factory=list)     # (check id, pattern) of a variant's fail/error
    setup_error: str = ""
    seconds: float = 0.0


def family_of(entry: Mutant) -> tuple[str, ...]:
    """The tags that name the entry's mistake (the first is its family), () when it has none yet."""
    tags = entry.pattern or FAMILY.get(entry.id, ())
    tags = (tags,) if isinstance(tags, str) else tuple(tags)
    unknown = [t for t in tags if t not in PATTERNS]
    if unknown:
        raise ValueError(f"{entry.id}: {unknown} not in the vocabulary (sanitykit list --patterns)")
    return tags


def measure(entry, timeout: float = 30.0) -> Measured:
    """Materialise one entry, run its checks (a variant: every suite of its assignment), measure."""
    started = time.perf_counter()
    is_mutant = isinstance(entry, Mutant)
    out = Measured(entry.id, "mutant" if is_mutant else "variant", family_of(entry) if is_mutant else ())
    with tempfile.TemporaryDirectory(prefix=f"sk_power_{entry.id}_") as folder:
        try:
            root = materialise(folder, entry.edits, assignment=entry.assignment)
        except AssertionError as exc:
            out.setup_error = str(exc)
            return out
        if is_mutant:
            report = check(root, only=entry.selection, seed=0, timeout=timeout)
            verdict = judge_mutant(entry, report.checks)
            out.caught, out.localised = verdict.caught, verdict.localised
            wanted = ("skip",) if entry.stub else ("fail", "error")
            out.patterns = [getattr(r.diagnosis, "pattern", "") or "" for r in report.checks
                            if matches(r.id, entry.expected) and r.status in wanted]
        else:
            report = check(root, suites=ASSIGNMENT_SUITES[entry.assignment], seed=0, timeout=timeout)
            out.alarms = [(r.id, getattr(r.diagnosis, "pattern", "") or "-") for r in report.checks
                          if r.status in ("fail", "error")]
    out.seconds = time.perf_counter() - started
    return out


def run(entries, workers: int) -> list[Measured]:
    if workers <= 1:
        return [measure(e) for e in entries]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(measure, entries))


def table(measured: list[Measured]) -> list[dict]:
    """One row per family: planted, detected, localised, named, misnamed, false alarms (pure)."""
    rows: dict[str, Counter] = {}
    for m in measured:
        if m.kind != "mutant":
            continue
        row = rows.setdefault(m.family[0] if m.family else NO_FAMILY, Counter())
        named = m.caught and any(p in m.family for p in m.patterns)
        wrong = [p for p in m.patterns if p not in ("", "unknown", *m.family)]
        row.update(planted=1, detected=int(m.caught), localised=int(m.localised), named=int(named),
                   misnamed=int(bool(m.family) and m.caught and not named and bool(wrong)))
    for m in measured:
        for _, pattern in m.alarms:
            rows.setdefault(pattern, Counter()).update(false_alarms=1)
    order = sorted(rows, key=lambda k: (k == NO_FAMILY, -rows[k]["planted"], k))
    return [{"family": k, **{c: rows[k][c] for c in COLUMNS}} for k in order]


COLUMNS = ("planted", "detected", "localised", "named", "misnamed", "false_alarms")


def totals(rows: list[dict]) -> dict:
    total = {c: sum(r[c] for r in rows) for c in COLUMNS}
    tagged = [r for r in rows if r["family"] != NO_FAMILY]
    total["nameable"] = sum(r["planted"] for r in tagged)
    return total


def render(rows: list[dict], markdown: bool = False) -> str:
    head = ("family",) + COLUMNS
    lines = []
    if markdown:
        lines.append("| " + " | ".join(h.replace("_", " ") for h in head) + " |")
        lines.append("|" + "---|" * len(head))
        fmt = lambda cells: "| " + " | ".join(str(c) for c in cells) + " |"  # noqa: E731
    else:
        fmt = lambda cells: f"{cells[0]:28} " + " ".join(f"{c:>9}" for c in cells[1:])  # noqa: E731
        lines.append(fmt([h.replace("_", " ") for h in head]))
    for r in rows:
        lines.append(fmt([r["family"], *(r[c] for c in COLUMNS)]))
    t = totals(rows)
    lines.append(fmt(["all", *(t[c] for c in COLUMNS)]))
    return "\n".join(lines)


def summary(rows: list[dict], variants: int, seconds: float) -> str:
    t = totals(rows)
    pct = lambda a, b: f"{100 * a / b:.0f}%" if b else "n/a"  # noqa: E731
    return (f"{t['planted']} planted mistakes: detected {pct(t['detected'], t['planted'])}, localised "
            f"{pct(t['localised'], t['planted'])}, named {pct(t['named'], t['nameable'])} of the "
            f"{t['nameable']} with a family tag, misnamed {t['misnamed']}; {t['false_alarms']} false "
            f"alarms on {variants} correct variants ({seconds:.0f} s)")


def misses(measured: list[Measured]) -> str:
    lines = []
    for m in measured:
        if m.kind == "mutant" and m.family and not (m.caught and any(p in m.family for p in m.patterns)):
            state = "ESCAPED" if not m.caught else "NOT NAMED"
            lines.append(f"{state:9} {m.id:44} family {'/'.join(m.family):30} got {','.join(m.patterns) or '-'}")
        for check_id, pattern in m.alarms:
            lines.append(f"ALARM     {m.id:44} {check_id} ({pattern})")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--only", nargs="*", default=None, help="entry ids to run (default: all)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown (README)")
    parser.add_argument("--misses", action="store_true", help="list every mutant not named, every alarm")
    parser.add_argument("--save", help="write the measurements to this JSON file")
    parser.add_argument("--load", help="render the measurements of a JSON file written by --save")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.load:
        measured = [Measured(**{**d, "family": tuple(d["family"]), "alarms": [tuple(a) for a in d["alarms"]]})
                    for d in json.loads(Path(args.load).read_text())]
    else:
        entries = [e for e in (*ALL_MUTANTS, *ALL_VARIANTS) if not args.only or e.id in args.only]
        measured = run(entries, args.workers)
    seconds = time.perf_counter() - started
    if args.save:
        Path(args.save).write_text(json.dumps([asdict(m) for m in measured], indent=1))
    rows = table(measured)
    print(render(rows, args.markdown))
    print("\n" + summary(rows, sum(m.kind == "variant" for m in measured), seconds))
    if args.misses:
        print("\n" + misses(measured))
    for m in measured:
        if m.setup_error:
            print(f"setup error in {m.id}: {m.setup_error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
