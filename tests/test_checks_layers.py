"""The layers suite: silent on the reference, and each planted student bug found by the right check."""
from __future__ import annotations

import numpy as np

import sanitykit.reference as R
from sanitykit.checks.registry import DictTarget, catalogue
from sanitykit.front.runner import dependencies_first, run_checks


def run(overrides: dict | None = None, only: str = "layers.", conventions: dict | None = None,
        without: tuple[str, ...] = ()) -> dict:
    """Run the layers checks whose id starts with `only` on the reference with `overrides` planted."""
    target = DictTarget.from_modules(R, name="reference")
    target.objects.update(overrides or {})
    for name in without:
        target.objects.pop(name, None)
    target.conventions.update(conventions or {})
    specs = [s for s in dependencies_first(catalogue(["layers"])) if s.id.startswith(only)]
    assert specs, f"no check matches {only!r}"
    return {r.id: r for r in run_checks(target, specs, timeout=None)}


def text(result) -> str:
    return f"{result.message}\n{result.hint}"


# ---------------------------------------------------------------- the reference passes

def test_every_layers_check_passes_on_the_reference():
    results = run()
    bad = {i: (r.status, r.message) for i, r in results.items() if r.status not in ("pass", "warn")}
    assert not bad, bad
    # Kinks may warn (engine's call), never the smooth layers.
    for topic in ("affine", "sigmoid", "tanh", "batchnorm", "layernorm", "spatial_groupnorm"):
        assert results[f"layers.{topic}.gradcheck"].status == "pass"


def test_catalogue_declares_the_designed_ids():
    ids = {s.id for s in catalogue(["layers"])}
    for topic in ("affine", "relu", "batchnorm", "layernorm", "dropout", "conv", "max_pool",
                  "spatial_batchnorm", "spatial_groupnorm", "conv_relu_pool"):
        assert f"layers.{topic}.interface" in ids and f"layers.{topic}.gradcheck" in ids
    for extra in ("affine.multidim", "batchnorm.train_stats", "batchnorm.test_mode",
                  "batchnorm.running_average", "batchnorm.gradcheck_alt", "layernorm.per_sample_stats",
                  "dropout.keep_ratio", "dropout.scaling", "dropout.test_identity", "dropout.mask_reuse",
                  "dropout.seed", "conv.output_shape", "max_pool.output_shape"):
        assert f"layers.{extra}" in ids
    for spec in catalogue(["layers"]):
        if spec.id.endswith("gradcheck"):
            assert "_backward" in spec.subject and len(spec.needs) == 2


def test_missing_functions_are_skipped_not_failed():
    results = run(only="layers.conv.", without=("conv_forward_naive", "conv_backward_naive"))
    assert {r.status for r in results.values()} == {"skip"}


def test_dropout_in_drop_probability_convention_passes():
    def dropout_forward(x, dropout_param):  # 2016-17 course: p is the DROP probability
        p, mode = dropout_param["p"], dropout_param["mode"]
        if mode == "test":
            return x, (dropout_param, None)
        rs = np.random.RandomState(dropout_param.get("seed"))
        mask = (rs.rand(*x.shape) >= p) / (1 - p)
        return x * mask, (dropout_param, mask)

    results = run({"dropout_forward": dropout_forward}, only="layers.dropout.",
                  conventions={"dropout_p": "drop"})
    assert all(r.status == "pass" for r in results.values()), {i: r.message for i, r in results.items()}


def test_groupnorm_with_flat_gamma_convention_passes():
    results = run(only="layers.spatial_groupnorm.", conventions={"groupnorm_param_shape": "1d"})
    assert all(r.status == "pass" for r in results.values())


# ---------------------------------------------------------------- interface

def test_stub_returning_none_is_not_implemented_and_dependents_skip():
    def affine_forward(x, w, b):
        out = None
        return out, (x, w, b)

    results = run({"affine_forward": affine_forward}, only="layers.affine.")
    assert results["layers.affine.interface"].status == "skip"
    assert "not implemented" in results["layers.affine.interface"].message
    assert all(r.status == "skip" for r in results.values())


def test_course_dropout_stub_is_not_implemented_yet():
    def dropout_forward(x, dropout_param):  # the starter code, TODO blocks untouched
        mask, out = None, None
        if dropout_param["mode"] == "train":
            pass
        cache = (dropout_param, mask)
        out = out.astype(x.dtype, copy=False)
        return out, cache

    results = run({"dropout_forward": dropout_forward}, only="layers.dropout.")
    assert results["layers.dropout.interface"].status == "skip"
    assert "not implemented yet" in results["layers.dropout.interface"].message
    assert {r.status for r in results.values()} == {"skip"}


def test_forward_returning_a_bare_array_is_an_error_naming_it():
    def relu_forward(x):
        return np.maximum(0, x)

    result = run({"relu_forward": relu_forward}, only="layers.relu.interface")["layers.relu.interface"]
    assert result.status == "error"
    assert "relu_forward returned an ndarray of shape (4, 5)" in result.message
    assert "(out, cache)" in result.message


def test_forward_that_mutates_its_input_fails_interface():
    def relu_forward(x):
        x[x < 0] = 0  # the classic in-place ReLU
        return x, x

    results = run({"relu_forward": relu_forward}, only="layers.relu.")
    assert results["layers.relu.interface"].status == "fail"
    assert "modified its input x in place" in results["layers.relu.interface"].message
    assert "copy" in results["layers.relu.interface"].hint
    assert results["layers.relu.forward"].status == "skip"


def test_float32_output_fails_interface():
    def tanh_forward(x):
        out = np.tanh(x).astype(np.float32)
        return out, out

    result = run({"tanh_forward": tanh_forward}, only="layers.tanh.interface")["layers.tanh.interface"]
    assert result.status == "fail"
    assert "float32" in result.message


def test_nondeterministic_forward_fails_interface():
    calls = []

    def sigmoid_forward(x):
        calls.append(1)
        out = 1 / (1 + np.exp(-x)) + 1e-3 * len(calls)  # depends on hidden state
        return out, out

    result = run({"sigmoid_forward": sigmoid_forward}, only="layers.sigmoid.interface")
    assert result["layers.sigmoid.interface"].status == "fail"
    assert "different out on two calls" in result["layers.sigmoid.interface"].message


# ---------------------------------------------------------------- forward values

def test_affine_forward_without_bias_names_the_bias_pattern():
    def affine_forward(x, w, b):
        return x.reshape(x.shape[0], -1) @ w, (x, w, b)

    result = run({"affine_forward": affine_forward}, only="layers.affine.forward")["layers.affine.forward"]
    assert result.status == "fail"
    assert "same amount in every row" in result.message
    assert "@ w + b" in result.hint


def test_affine_without_reshape_fails_multidim():
    def affine_forward(x, w, b):
        return x @ w + b, (x, w, b)

    result = run({"affine_forward": affine_forward}, only="layers.affine.multidim")["layers.affine.multidim"]
    assert result.status == "fail"
    assert "(3, 2, 4, 3)" in result.message and "reshape" in result.hint


def test_affine_backward_dx_not_reshaped_fails_multidim():
    def affine_backward(dout, cache):
        x, w, b = cache
        return dout @ w.T, x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)

    result = run({"affine_backward": affine_backward}, only="layers.affine.multidim")["layers.affine.multidim"]
    assert result.status == "fail"
    assert "dx of shape (3, 24), expected (3, 2, 4, 3)" in result.message


# ---------------------------------------------------------------- gradients

def test_affine_backward_dividing_dw_by_n_fails_gradcheck():
    def affine_backward(dout, cache):
        dx, dw, db = R.affine_backward(dout, cache)
        return dx, dw / dout.shape[0], db

    result = run({"affine_backward": affine_backward}, only="layers.affine.gradcheck")["layers.affine.gradcheck"]
    assert result.status == "fail"
    assert result.subject == "affine_backward"
    assert "dw is wrong" in result.message and "batch size" in result.message


def test_relu_backward_without_mask_fails_gradcheck():
    def relu_backward(dout, cache):
        return dout.copy()

    result = run({"relu_backward": relu_backward}, only="layers.relu.gradcheck")["layers.relu.gradcheck"]
    assert result.status == "fail"
    assert "mask" in result.hint


def test_backward_stub_skips_gradcheck_only():
    def conv_backward_naive(dout, cache):
        dx, dw, db = None, None, None
        return dx, dw, db

    results = run({"conv_backward_naive": conv_backward_naive}, only="layers.conv.")
    assert results["layers.conv.gradcheck"].status == "skip"
    assert "not implemented" in results["layers.conv.gradcheck"].message
    assert results["layers.conv.forward"].status == "pass"


def test_batchnorm_backward_alt_missing_gamma_fails_only_alt():
    def batchnorm_backward_alt(dout, cache):
        xhat, _, ivar, _, gamma = cache
        dx, dgamma, dbeta = R.batchnorm_backward_alt(dout, cache)
        return dx / gamma, dgamma, dbeta

    results = run({"batchnorm_backward_alt": batchnorm_backward_alt}, only="layers.batchnorm.")
    assert results["layers.batchnorm.gradcheck_alt"].status == "fail"
    assert results["layers.batchnorm.gradcheck"].status == "pass"


# ---------------------------------------------------------------- batchnorm behaviour

def _batchnorm_with(test_stats: str = "running", momentum_swapped: bool = False, ddof: int = 0):
    """A batchnorm_forward with one configurable course mistake."""
    def batchnorm_forward(x, gamma, beta, bn_param):
        eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
        D = x.shape[1]
        running_mean = bn_param.get("running_mean", np.zeros(D))
        running_var = bn_param.get("running_var", np.zeros(D))
        if bn_param["mode"] == "train" or test_stats == "batch":
            mu, var = x.mean(axis=0), x.var(axis=0, ddof=ddof)
        else:
            mu, var = running_mean, running_var
        out = gamma * (x - mu) / np.sqrt(var + eps) + beta
        if bn_param["mode"] == "train":
            a = 1 - momentum if momentum_swapped else momentum
            bn_param["running_mean"] = a * running_mean + (1 - a) * mu
            bn_param["running_var"] = a * running_var + (1 - a) * var
        return out, None

    return batchnorm_forward


def test_batchnorm_using_batch_statistics_at_test_time_is_diagnosed():
    result = run({"batchnorm_forward": _batchnorm_with(test_stats="batch")},
                 only="layers.batchnorm.test_mode")["layers.batchnorm.test_mode"]
    assert result.status == "fail"
    assert "batch's own mean and variance" in result.message
    assert "bn_param['running_mean']" in result.hint and "x.mean(axis=0)" in result.hint


def test_batchnorm_with_swapped_momentum_is_diagnosed():
    result = run({"batchnorm_forward": _batchnorm_with(momentum_swapped=True)},
                 only="layers.batchnorm.running_average")["layers.batchnorm.running_average"]
    assert result.status == "fail"
    assert "running_mean" in result.message and "swapped" in result.hint


def test_batchnorm_with_unbiased_variance_fails_train_stats():
    results = run({"batchnorm_forward": _batchnorm_with(ddof=1)}, only="layers.batchnorm.")
    assert results["layers.batchnorm.train_stats"].status == "fail"
    assert "biased variance" in results["layers.batchnorm.train_stats"].hint
    assert results["layers.batchnorm.forward"].status == "fail"


def test_batchnorm_not_storing_running_stats_is_diagnosed():
    def batchnorm_forward(x, gamma, beta, bn_param):
        return R.batchnorm_forward(x, gamma, beta, dict(bn_param))  # updates a copy only

    result = run({"batchnorm_forward": batchnorm_forward},
                 only="layers.batchnorm.running_average")["layers.batchnorm.running_average"]
    assert result.status == "fail"
    assert "not updated" in result.hint


def test_layernorm_over_the_batch_axis_is_diagnosed():
    def layernorm_forward(x, gamma, beta, ln_param):
        return R.batchnorm_forward(x, gamma, beta, {"mode": "train"})

    result = run({"layernorm_forward": layernorm_forward},
                 only="layers.layernorm.per_sample_stats")["layers.layernorm.per_sample_stats"]
    assert result.status == "fail"
    assert "axis=1" in result.hint


# ---------------------------------------------------------------- dropout behaviour

def _dropout_with(scale: str = "inverted", keep_when: str = "<", test_scale: float = 1.0,
                  honour_seed: bool = True):
    """A dropout_forward with one configurable course mistake."""
    def dropout_forward(x, dropout_param):
        p, mode = dropout_param["p"], dropout_param["mode"]
        if mode == "test":
            return x * (p if test_scale != 1.0 else 1.0), (dropout_param, None)
        rs = np.random.RandomState(dropout_param.get("seed") if honour_seed else None)
        u = rs.rand(*x.shape)
        kept = u < p if keep_when == "<" else u > p
        mask = kept / p if scale == "inverted" else kept * 1.0
        return x * mask, (dropout_param, mask)

    return dropout_forward


def test_dropout_without_rescaling_is_diagnosed():
    results = run({"dropout_forward": _dropout_with(scale="none")}, only="layers.dropout.")
    result = results["layers.dropout.scaling"]
    assert result.status == "fail"
    assert "not rescaled" in result.hint and "/ p" in result.hint
    assert results["layers.dropout.keep_ratio"].status == "pass"


def test_dropout_keeping_with_probability_one_minus_p_is_diagnosed():
    result = run({"dropout_forward": _dropout_with(keep_when=">")},
                 only="layers.dropout.keep_ratio")["layers.dropout.keep_ratio"]
    assert result.status == "fail"
    assert "KEEP probability" in result.hint
    # The statistical bound is stated, from the binomial standard deviation of 10000 draws.
    sigma = np.sqrt(0.7 * 0.3 / 10000)
    assert f"{sigma:.4f}" in result.message


def test_dropout_scaling_at_test_time_fails_test_identity():
    result = run({"dropout_forward": _dropout_with(test_scale=0.7)},
                 only="layers.dropout.test_identity")["layers.dropout.test_identity"]
    assert result.status == "fail"
    assert "returns x" in result.hint


def test_dropout_ignoring_its_seed_fails_seed_and_skips_gradcheck():
    results = run({"dropout_forward": _dropout_with(honour_seed=False)}, only="layers.dropout.")
    assert results["layers.dropout.seed"].status == "fail"
    assert "np.random.seed" in results["layers.dropout.seed"].hint
    assert results["layers.dropout.gradcheck"].status == "skip"


def test_dropout_backward_drawing_a_new_mask_fails_mask_reuse():
    def dropout_backward(dout, cache):
        dropout_param, _ = cache
        p = dropout_param["p"]
        return dout * (np.random.rand(*dout.shape) < p) / p

    result = run({"dropout_backward": dropout_backward},
                 only="layers.dropout.mask_reuse")["layers.dropout.mask_reuse"]
    assert result.status == "fail"
    assert "mask stored in the cache" in result.hint


# ---------------------------------------------------------------- output shapes

def test_conv_ignoring_padding_in_output_shape_is_diagnosed():
    def conv_forward_naive(x, w, b, conv_param):
        out, cache = R.conv_forward_naive(x, w, b, conv_param)
        pad = conv_param["pad"]
        H, W = out.shape[2:]
        return out[:, :, pad:H - pad or None, pad:W - pad or None] if pad else out, cache

    result = run({"conv_forward_naive": conv_forward_naive},
                 only="layers.conv.output_shape")["layers.conv.output_shape"]
    assert result.status == "fail"
    assert "pad 1" in result.message and "padding is ignored" in result.hint


def test_max_pool_with_swapped_window_sides_is_diagnosed():
    def max_pool_forward_naive(x, pool_param):
        swapped = dict(pool_param, pool_height=pool_param["pool_width"], pool_width=pool_param["pool_height"])
        return R.max_pool_forward_naive(x, swapped)

    result = run({"max_pool_forward_naive": max_pool_forward_naive},
                 only="layers.max_pool.output_shape")["layers.max_pool.output_shape"]
    assert result.status == "fail"
    assert "swapped" in result.hint


# ---------------------------------------------------------------- sandwiches: blame where it belongs

SANDWICH_MODULE = '''
import numpy as np
from sanitykit.reference.layers import affine_forward, relu_forward, relu_backward


def affine_backward(dout, cache):
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout / x.shape[0]   # planted: divided by N again
    return dx, dw, dout.sum(axis=0)


def affine_relu_forward(x, w, b):
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache) if OWN_BUG == 0 else dout   # OWN_BUG: relu skipped
    return affine_backward(da, fc_cache)


OWN_BUG = 0
'''


def run_sandwich(tmp_path, own_bug: bool) -> dict:
    """The affine and affine_relu checks, run in order on the student module loaded as a real target."""
    from sanitykit.front.loading import load_target

    source = SANDWICH_MODULE.replace("OWN_BUG = 0", "OWN_BUG = 1") if own_bug else SANDWICH_MODULE
    (tmp_path / "student.py").write_text(source)
    target = load_target(tmp_path / "student.py")
    specs = [s for s in dependencies_first(catalogue(["layers"]))
             if s.id.startswith(("layers.affine.", "layers.relu.", "layers.affine_relu."))]
    return {r.id: r for r in run_checks(target, specs, timeout=None)}


def test_sandwich_failing_only_through_its_layer_is_blamed_on_the_layer(tmp_path):
    results = run_sandwich(tmp_path, own_bug=False)
    assert results["layers.affine.gradcheck"].status == "fail"
    sandwich = results["layers.affine_relu.gradcheck"]
    assert sandwich.status == "skip", sandwich.message
    assert sandwich.message.startswith("fails only because of affine_backward (see layers.affine.gradcheck); "
                                       "passes with sanitykit's reference affine_backward substituted")


def test_sandwich_with_its_own_bug_still_fails(tmp_path):
    sandwich = run_sandwich(tmp_path, own_bug=True)["layers.affine_relu.gradcheck"]
    assert sandwich.status == "fail"
    assert "still fails with sanitykit's reference affine_backward substituted" in sandwich.message
    assert "the bug is in affine_relu_backward itself" in sandwich.message


SPATIAL_BN_MODULE = '''
import numpy as np
from sanitykit.reference.layers import batchnorm_forward, spatial_batchnorm_forward
from sanitykit.reference.layers import batchnorm_backward_alt as reference_alt


def batchnorm_backward_alt(dout, cache):
    dx, dgamma, dbeta = reference_alt(dout, cache)
    return dx * 1.5, dgamma, dbeta   # planted: dx scaled


def spatial_batchnorm_backward(dout, cache):
    N, C, H, W = dout.shape
    dx, dgamma, dbeta = batchnorm_backward_alt(dout.transpose(0, 2, 3, 1).reshape(-1, C), cache)
    return dx.reshape(N, H, W, C).transpose(0, 3, 1, 2), dgamma, dbeta
'''


def test_spatial_batchnorm_failing_only_through_batchnorm_backward_alt_is_blamed_on_it(tmp_path):
    from sanitykit.front.loading import load_target

    (tmp_path / "student.py").write_text(SPATIAL_BN_MODULE)
    target = load_target(tmp_path / "student.py")
    specs = [s for s in dependencies_first(catalogue(["layers"]))
             if s.id.startswith(("layers.batchnorm.", "layers.spatial_batchnorm."))]
    results = {r.id: r for r in run_checks(target, specs, timeout=None)}
    assert results["layers.batchnorm.gradcheck_alt"].status == "fail"
    spatial = results["layers.spatial_batchnorm.gradcheck"]
    assert spatial.status == "skip", spatial.message
    assert spatial.message.startswith("fails only because of batchnorm_backward_alt "
                                      "(see layers.batchnorm.gradcheck_alt)")


# ---------------------------------------------------------------- cases a single input hides

def _conv_forward_ignoring_stride(x, w, b, conv_param):
    """Output shape from the stride, but windows slid one pixel at a time."""
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, _, H, W = x.shape
    F, _, HH, WW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    H_out, W_out = 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride
    out = np.zeros((N, F, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i:i + HH, j:j + WW]  # planted: i, not i * stride
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, conv_param)


def _conv_backward_ignoring_stride(dout, cache):
    x, w, b, conv_param = cache
    pad = conv_param["pad"]
    _, _, HH, WW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad, dw = np.zeros_like(x_pad), np.zeros_like(w)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows, cols = slice(i, i + HH), slice(j, j + WW)  # planted: stride ignored
            dw += np.tensordot(dout[:, :, i, j], x_pad[:, :, rows, cols], axes=([0], [0]))
            dx_pad[:, :, rows, cols] += np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
    dx = dx_pad[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
    return dx, dw, dout.sum(axis=(0, 2, 3))


def test_conv_forward_ignoring_the_stride_fails_forward_naming_the_stride():
    for name in ("conv", "conv_fast"):
        forward = "conv_forward_naive" if name == "conv" else "conv_forward_fast"
        result = run({forward: _conv_forward_ignoring_stride},
                     only=f"layers.{name}.forward")[f"layers.{name}.forward"]
        assert result.status == "fail", (name, result.message)
        assert "stride 2" in result.message and "stride 1" in result.hint


def test_conv_backward_ignoring_the_stride_fails_gradcheck_naming_the_stride():
    def forward(x, w, b, conv_param):  # the reference's numbers, with this backward's cache
        out, _ = R.conv_forward_naive(x, w, b, conv_param)
        return out, (x, w, b, conv_param)

    results = run({"conv_forward_naive": forward, "conv_backward_naive": _conv_backward_ignoring_stride},
                  only="layers.conv.")
    assert results["layers.conv.forward"].status == "pass"
    result = results["layers.conv.gradcheck"]
    assert result.status == "fail", result.message
    assert "stride" in text(result)


def test_max_pool_fast_reshaping_blocks_the_wrong_way_fails_forward():
    def max_pool_forward_fast(x, pool_param):
        ph, pw = pool_param["pool_height"], pool_param["pool_width"]
        N, C, H, W = x.shape
        tiles = x.reshape(N, C, ph, H // ph, pw, W // pw)  # planted: block and window swapped
        return tiles.max(axis=(3, 5)), (x, pool_param)

    results = run({"max_pool_forward_fast": max_pool_forward_fast}, only="layers.max_pool_fast.")
    assert results["layers.max_pool_fast.interface"].status == "pass"  # right on a 4x4 input
    result = results["layers.max_pool_fast.forward"]
    assert result.status == "fail"
    assert "non-square" in result.message and "(N, C, H // pool_height, pool_height" in result.hint


def test_conv_relu_pool_backward_skipping_the_relu_mask_fails_gradcheck():
    def conv_relu_pool_backward(dout, cache):
        conv_cache, relu_cache, pool_cache = cache
        ds = R.max_pool_backward_fast(dout, pool_cache)
        return R.conv_backward_fast(ds, conv_cache)  # planted: relu_backward skipped

    result = run({"conv_relu_pool_backward": conv_relu_pool_backward},
                 only="layers.conv_relu_pool.gradcheck")["layers.conv_relu_pool.gradcheck"]
    assert result.status == "fail", result.message


def test_relu_mask_with_a_wrong_threshold_is_caught():
    # The inputs reach every scale down to 1e-3 from the kink, so a mask at -0.1 or 0.01 shows.
    for mask in (lambda x: x >= -0.1, lambda x: x > 0.01):
        results = run({"relu_backward": lambda dout, cache, mask=mask: dout * mask(cache)},
                      only="layers.relu.")
        assert results["layers.relu.gradcheck"].status == "fail", text(results["layers.relu.gradcheck"])


# ---------------------------------------------------------------- mistakes named from the output

def planted(name, old, new):
    """The reference layer function `name` with the source `old` replaced by `new` (one planted bug)."""
    import inspect
    import textwrap

    import sanitykit.reference.layers as reference_layers

    source = textwrap.dedent(inspect.getsource(getattr(reference_layers, name)))
    assert source.count(old) == 1, old
    namespace = dict(vars(reference_layers))
    exec(source.replace(old, new), namespace)  # noqa: S102 - our own reference source
    return namespace[name]


GROUPS_SWAPPED = ("    grouped = x.reshape(N, G, -1)\n    mu = grouped.mean(axis=2, keepdims=True)\n"
                  "    var = grouped.var(axis=2, keepdims=True)",
                  "    grouped = x.reshape(N, C // G, G, H, W)\n    mu = grouped.mean(axis=(1, 3, 4), keepdims=True)\n"
                  "    var = grouped.var(axis=(1, 3, 4), keepdims=True)")
NORM_MISTAKES = [  # (function, old, new, check, pattern)
    ("batchnorm_forward", "sqrtvar = np.sqrt(var + eps)", "sqrtvar = np.sqrt(var)", "batchnorm.forward", "eps_missing"),
    ("batchnorm_forward", "sqrtvar = np.sqrt(var + eps)", "sqrtvar = np.sqrt(var) + eps", "batchnorm.forward",
     "eps_outside"),
    ("batchnorm_forward", "xhat = (x - running_mean) / np.sqrt(running_var + eps)",
     "xhat = (x - running_mean) / np.sqrt(running_var)", "batchnorm.test_mode", "eps_missing"),
    ("batchnorm_forward", "xhat = (x - running_mean) / np.sqrt(running_var + eps)",
     "xhat = (x - running_mean) / (np.sqrt(running_var) + eps)", "batchnorm.test_mode", "eps_outside"),
    ("layernorm_forward", "ivar = 1 / np.sqrt(var + eps)", "ivar = 1 / np.sqrt(var)", "layernorm.forward",
     "eps_missing"),
    ("spatial_groupnorm_forward", "ivar = 1 / np.sqrt(var + eps)", "ivar = 1 / (np.sqrt(var) + eps)",
     "spatial_groupnorm.forward", "eps_outside"),
    ("spatial_groupnorm_forward", *GROUPS_SWAPPED, "spatial_groupnorm.forward", "group_axes"),
    ("batchnorm_forward", "running_var = momentum * running_var + (1 - momentum) * var",
     "running_var = momentum * running_var + (1 - momentum) * np.sqrt(var)", "batchnorm.running_average",
     "running_std"),
    ("batchnorm_forward", "var = (xmu ** 2).mean(axis=0)", "var = (xmu ** 2).sum(axis=0) / (x.shape[0] - 1)",
     "batchnorm.forward", "unbiased_variance"),
    ("layernorm_forward", "var = x.var(axis=1, keepdims=True)", "var = x.var(axis=1, keepdims=True, ddof=1)",
     "layernorm.forward", "unbiased_variance"),
    ("layernorm_forward", "mu = x.mean(axis=1, keepdims=True)\n    var = x.var(axis=1, keepdims=True)",
     "mu = x.mean(axis=0, keepdims=True)\n    var = x.var(axis=0, keepdims=True)", "layernorm.forward",
     "wrong_axis"),
]


def test_normalisation_forward_mistakes_are_named_from_the_output():
    for function, old, new, check_id, pattern in NORM_MISTAKES:
        topic = check_id.split(".")[0]
        results = run({function: planted(function, old, new)}, only=f"layers.{topic}.")
        result = results[f"layers.{check_id}"]
        assert result.status == "fail" and result.diagnosis.pattern == pattern, (new, result.message)


def test_spatial_batchnorm_reshaped_without_transpose_is_named():
    def channels_mixed(x, gamma, beta, bn_param):
        N, C, H, W = x.shape
        out, cache = R.batchnorm_forward(x.reshape(-1, C), gamma, beta, bn_param)  # planted: no transpose
        return out.reshape(N, H, W, C).transpose(0, 3, 1, 2), cache

    result = run({"spatial_batchnorm_forward": channels_mixed}, only="layers.spatial_batchnorm.")[
        "layers.spatial_batchnorm.forward"]
    assert result.status == "fail" and result.diagnosis.pattern == "no_transpose", result.message


def test_a_backward_judged_against_a_wrong_forward_is_blamed_on_the_forward():
    results = run({"batchnorm_forward": planted("batchnorm_forward", "sqrtvar = np.sqrt(var + eps)",
                                                "sqrtvar = np.sqrt(var) + eps")}, only="layers.batchnorm.")
    assert results["layers.batchnorm.forward"].status == "fail"
    for check_id in ("layers.batchnorm.gradcheck", "layers.batchnorm.gradcheck_alt"):
        result = results[check_id]
        assert result.status == "skip" and result.reason.kind == "blamed", (check_id, result.message)
        assert result.reason.see == ("layers.batchnorm.forward",)
        assert result.message.startswith("fails only because batchnorm_forward is wrong")


def test_a_backward_with_its_own_bug_still_fails_after_a_wrong_forward():
    results = run({"batchnorm_forward": planted("batchnorm_forward", "sqrtvar = np.sqrt(var + eps)",
                                                "sqrtvar = np.sqrt(var) + eps"),
                   "batchnorm_backward": lambda dout, cache: tuple(2 * g for g in R.batchnorm_backward(dout, cache))},
                  only="layers.batchnorm.")
    assert results["layers.batchnorm.gradcheck"].status == "fail"


CONV_SIZES = "    H_out = conv_output_size(H, HH, pad, stride)\n    W_out = conv_output_size(W, WW, pad, stride)"
CONV_MISTAKES = [  # (old, new, pattern)
    ("x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))", "x_pad = np.pad(x, pad)", "pad_axes"),
    (CONV_SIZES, "    H_out = 1 + (H + pad - HH) // stride\n    W_out = 1 + (W + pad - WW) // stride", "padding_once"),
    (CONV_SIZES, "    H_out = (H + 2 * pad - HH) // stride\n    W_out = (W + 2 * pad - WW) // stride", "no_plus_one"),
]


def test_conv_padding_and_output_size_mistakes_are_named_when_the_forward_raises_or_misshapes():
    for old, new, pattern in CONV_MISTAKES:
        results = run({"conv_forward_naive": planted("conv_forward_naive", old, new)}, only="layers.conv.")
        interface = results["layers.conv.interface"]
        assert interface.status == "fail" and interface.diagnosis.pattern == pattern, (new, interface.message)
        assert interface.diagnosis.likely and "internal" not in interface.message


WINDOW_MISTAKES = [  # (function, old, new, pattern): the output has the right shape, the wrong windows
    ("conv_forward_naive", "window = x_pad[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]",
     "window = x_pad[:, :, i:i + HH, j:j + WW]", "stride"),
    ("conv_forward_naive", "np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b",
     "np.tensordot(window, w[:, :, ::-1, ::-1], axes=([1, 2, 3], [1, 2, 3])) + b", "flipped"),
    ("max_pool_forward_naive", "window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]",
     "window = x[:, :, i:i + ph, j:j + pw]", "stride"),
]


def test_windows_placed_without_the_stride_or_flipped_filters_are_named_from_the_output():
    for function, old, new, pattern in WINDOW_MISTAKES:
        topic = "conv" if function.startswith("conv") else "max_pool"
        result = run({function: planted(function, old, new)}, only=f"layers.{topic}.")[f"layers.{topic}.forward"]
        assert result.status == "fail" and result.diagnosis.pattern == pattern, (new, result.message)
        assert pattern in result.diagnosis.fix or pattern == "flipped" and "w[f]" in result.diagnosis.fix


def test_a_forward_wrong_in_another_way_is_not_named_a_window_mistake():
    def conv_forward_plus_one(x, w, b, conv_param):
        out, cache = R.conv_forward_naive(x, w, b, conv_param)
        return out + 1, cache  # planted: an offset, no window mistake reproduces it

    result = run({"conv_forward_naive": conv_forward_plus_one}, only="layers.conv.")["layers.conv.forward"]
    assert result.status == "fail" and result.diagnosis.pattern not in ("stride", "flipped"), result.message


def test_max_pool_output_size_without_the_one_is_named():
    sizes = "    H_out = conv_output_size(H, ph, 0, stride)\n    W_out = conv_output_size(W, pw, 0, stride)"
    result = run({"max_pool_forward_naive": planted(
        "max_pool_forward_naive", sizes, "    H_out = (H - ph) // stride\n    W_out = (W - pw) // stride")},
        only="layers.max_pool.")["layers.max_pool.interface"]
    assert result.status == "fail" and result.diagnosis.pattern == "no_plus_one", result.message


def test_max_pool_backward_assigning_instead_of_accumulating_fails_on_overlapping_windows():
    def max_pool_backward_assigning(dout, cache):
        x, pool_param = cache
        ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
        dx = np.zeros_like(x)
        N, C, H_out, W_out = dout.shape
        for n in range(N):
            for c in range(C):
                for i in range(H_out):
                    for j in range(W_out):
                        window = x[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw]
                        mask = window == window.max()
                        dx[n, c, i * stride:i * stride + ph, j * stride:j * stride + pw] = mask * dout[n, c, i, j]
        return dx

    result = run({"max_pool_backward_naive": max_pool_backward_assigning},
                 only="layers.max_pool.")["layers.max_pool.gradcheck"]
    assert result.status == "fail" and result.details["case"].startswith("overlapping"), result.message
    assert "+=" in result.hint


def test_an_affine_forward_that_squeezes_the_batch_fails_on_one_example_saying_so():
    def affine_forward_squeezed(x, w, b):
        return np.squeeze(x) @ w + b, (x, w, b)  # planted: N = 1 loses its batch axis

    result = run({"affine_forward": affine_forward_squeezed}, only="layers.affine.")["layers.affine.forward"]
    assert result.status == "fail" and result.details["case"] == "a batch of one example (N = 1)", result.message
    assert "N = 1" in result.message and "squeeze" in result.hint


# ---------------------------------------------------------------- batchnorm_backward_alt with its own forward

def batchnorm_forward_alt(x, gamma, beta, bn_param):
    """A student's forward for the closed-form backward: caches (xhat, gamma, 1 / std) only."""
    eps = bn_param.get("eps", 1e-5)
    istd = 1 / np.sqrt(x.var(axis=0) + eps)
    xhat = (x - x.mean(axis=0)) * istd
    return gamma * xhat + beta, (xhat, gamma, istd)


def batchnorm_backward_alt_own(dout, cache):
    xhat, gamma, istd = cache
    N = dout.shape[0]
    dxhat = dout * gamma
    dx = istd / N * (N * dxhat - dxhat.sum(axis=0) - xhat * (dxhat * xhat).sum(axis=0))
    return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)


def test_batchnorm_backward_alt_is_checked_against_the_students_own_forward_alt():
    alone = run({"batchnorm_backward_alt": batchnorm_backward_alt_own},
                only="layers.batchnorm.")["layers.batchnorm.gradcheck_alt"]
    assert alone.status == "error"  # against batchnorm_forward's cache it cannot even unpack
    paired = run({"batchnorm_backward_alt": batchnorm_backward_alt_own, "batchnorm_forward_alt": batchnorm_forward_alt},
                 only="layers.batchnorm.")["layers.batchnorm.gradcheck_alt"]
    assert paired.status == "pass", paired.message
    assert "checked against batchnorm_forward_alt" in paired.message
    assert paired.details["forward"] == "batchnorm_forward_alt"


def test_a_wrong_paired_backward_alt_fails_and_a_wrong_forward_alt_is_named_as_the_cause():
    def backward_without_gamma(dout, cache):
        xhat, gamma, istd = cache
        return batchnorm_backward_alt_own(dout, (xhat, np.ones_like(gamma), istd))

    def forward_alt_eps_outside(x, gamma, beta, bn_param):
        xhat = (x - x.mean(axis=0)) / (x.std(axis=0) + bn_param.get("eps", 1e-5))
        return gamma * xhat + beta, (xhat, gamma, 1 / (x.std(axis=0) + 1e-5))

    wrong_backward = run({"batchnorm_backward_alt": backward_without_gamma,
                          "batchnorm_forward_alt": batchnorm_forward_alt},
                         only="layers.batchnorm.")["layers.batchnorm.gradcheck_alt"]
    assert wrong_backward.status == "fail" and "checked against batchnorm_forward_alt" in wrong_backward.message
    assert "dx" in wrong_backward.message
    wrong_forward = run({"batchnorm_backward_alt": batchnorm_backward_alt_own,
                         "batchnorm_forward_alt": forward_alt_eps_outside},
                        only="layers.batchnorm.")["layers.batchnorm.gradcheck_alt"]
    assert wrong_forward.status == "fail" and wrong_forward.diagnosis.pattern == "eps_outside", wrong_forward.message
    assert wrong_forward.message.startswith("batchnorm_forward_alt, whose cache batchnorm_backward_alt reads, is wrong")


# ---------------------------------------------------------------- errors that name what the check passed

def test_a_broadcast_error_in_a_forward_names_the_shapes_the_check_passed():
    def affine_forward_bias_column(x, w, b):
        return x.reshape(x.shape[0], -1) @ w + b.reshape(-1, 1), (x, w, b)

    result = run({"affine_forward": affine_forward_bias_column}, only="layers.affine.")["layers.affine.interface"]
    assert result.status == "error" and "ValueError" in result.message
    assert "affine_forward(x (4, 5), w (5, 3), b (3,))" in result.hint, result.hint


def test_an_error_in_a_backward_under_the_gradient_check_names_dout_and_the_cache():
    def affine_backward_unpacking(dout, cache):
        x, w = cache  # planted: the cache holds three arrays
        return dout @ w.T, x.T @ dout, dout.sum(axis=0)

    result = run({"affine_backward": affine_backward_unpacking}, only="layers.affine.")["layers.affine.gradcheck"]
    assert result.status == "error", result.message
    assert "affine_backward(dout (4, 3), cache (a tuple of (4, 5), (5, 3), (3,)))" in result.hint, result.hint
    assert "unpack a cache exactly as the forward packed it" in result.hint


# ---------------------------------------------------------------- a batch of one example for every layer

def test_a_layer_that_breaks_only_on_one_example_says_so_and_names_the_shapes():
    def layernorm_forward_squeezed(x, gamma, beta, ln_param):
        mu = np.squeeze(x.mean(axis=1, keepdims=True))[:, None]  # planted: 0-d when N = 1
        var = np.squeeze(x.var(axis=1, keepdims=True))[:, None]
        return gamma * (x - mu) / np.sqrt(var + ln_param.get("eps", 1e-5)) + beta, None

    result = run({"layernorm_forward": layernorm_forward_squeezed},
                 only="layers.layernorm.")["layers.layernorm.forward"]
    assert result.status == "error", result.message
    assert result.message.startswith("with a batch of one example (N = 1) (the first case passes)")
    assert "np.squeeze" in result.hint and "layernorm_forward(x (1, 4)," in result.hint


def test_sandwich_and_activation_forwards_are_checked_on_one_example():
    def relu_forward_squeezed(x):
        return np.squeeze(np.maximum(0, x)), x

    def affine_relu_forward_squeezed(x, w, b):
        out, cache = R.affine_relu_forward(x, w, b)
        return np.squeeze(out), cache

    for name, fn, check_id in (("relu_forward", relu_forward_squeezed, "layers.relu.forward"),
                               ("affine_relu_forward", affine_relu_forward_squeezed, "layers.affine_relu.forward")):
        result = run({name: fn}, only=check_id)[check_id]
        assert result.status == "fail" and result.details["case"] == "a batch of one example (N = 1)", result.message


def test_a_backward_that_squeezes_one_example_is_suspicious_not_silently_passed():
    def relu_backward_squeezed(dout, cache):
        return np.squeeze(np.where(cache > 0, dout, 0))

    result = run({"relu_backward": relu_backward_squeezed}, only="layers.relu.")["layers.relu.gradcheck"]
    assert result.status == "warn" and result.details["case"] == "a batch of one example (N = 1)", result.message
