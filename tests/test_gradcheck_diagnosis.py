"""Planted bugs in tiny hand-written layers: gradcheck must name each pattern, in words."""
import numpy as np
import pytest

import sanitykit as sk
from sanitykit.engine.gradcheck import (assert_gradients_match, gradcheck, gradcheck_loss,
                                        gradcheck_model)

# ---------------------------------------------------------------- tiny correct layers

def affine_forward(x, w, b):
    return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def sigmoid_forward(x):
    out = 1 / (1 + np.exp(-x))
    return out, out


def conv_forward(x, w, b):
    """3x3 convolution, stride 1, pad 1 (the naive loop of the course, vectorised over N and F)."""
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    n, _, hh, ww = x.shape
    out = np.empty((n, w.shape[0], hh, ww))
    for i in range(hh):
        for j in range(ww):
            out[:, :, i, j] = np.tensordot(xp[:, :, i:i + 3, j:j + 3], w, axes=([1, 2, 3], [1, 2, 3]))
    return out + b[None, :, None, None], (x, w, b)


def conv_backward(dout, cache):
    x, w, b = cache
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(x.shape[2]):
        for j in range(x.shape[3]):
            d = dout[:, :, i, j]
            dxp[:, :, i:i + 3, j:j + 3] += np.tensordot(d, w, axes=(1, 0))
            dw += np.tensordot(d, xp[:, :, i:i + 3, j:j + 3], axes=(0, 0))
    return dxp[:, :, 1:-1, 1:-1], dw, dout.sum(axis=(0, 2, 3))


@pytest.fixture
def affine_inputs():
    rng = np.random.default_rng(0)
    return rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)


def by_name(result, name):
    return next(r for r in result.per_input if r.name == name)


# ------------------------------------------------------------------ correct layers pass

@pytest.mark.parametrize("mode", ["auto", "fast", "full"])
def test_correct_affine_passes_in_every_mode(affine_inputs, mode):
    result = gradcheck(affine_forward, affine_backward, *affine_inputs, mode=mode)
    assert result.status == "pass", str(result)
    assert result.max_rel_error < 1e-7
    assert [r.name for r in result.per_input] == ["x", "w", "b"]


def test_inputs_are_never_modified_and_float32_is_checked_in_float64(affine_inputs):
    x, w, b = (a.astype(np.float32) for a in affine_inputs)
    before = [a.copy() for a in (x, w, b)]
    result = gradcheck(affine_forward, affine_backward, x, w, b, mode="full")
    assert result.status == "pass", str(result)
    assert any("float32" in n and "float64 copy" in n for n in result.notes)
    for a, a0 in zip((x, w, b), before):
        assert np.array_equal(a, a0)


def test_zero_gradient_bias_before_batchnorm_is_not_a_false_alarm():
    """d(normalise(x @ w + b))/db is exactly 0: round-off in the numeric side must not fail."""
    def forward(x, w, b):
        a = x @ w + b
        xhat = (a - a.mean(axis=0)) / np.sqrt(a.var(axis=0) + 1e-5)
        return xhat, (a, xhat)

    def backward(dout, cache):
        a, xhat = cache
        n = a.shape[0]
        ivar = 1 / np.sqrt(a.var(axis=0) + 1e-5)
        da = ivar / n * (n * dout - dout.sum(axis=0) - xhat * (dout * xhat).sum(axis=0))
        return da @ w.T, x.T @ da, da.sum(axis=0)

    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((6, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    for mode in ("auto", "full"):
        result = gradcheck(forward, backward, x, w, b, mode=mode)
        assert result.status == "pass", str(result)


def test_relu_kink_is_a_warning_not_a_failure():
    x = np.array([[1.0, -2.0, 3e-6], [-4e-6, 0.5, -0.7]])  # two values within h of the kink
    result = gradcheck(relu_forward, relu_backward, x, mode="full")
    assert result.status == "warn", str(result)
    assert by_name(result, "x").pattern == "kink"
    assert by_name(result, "x").kinks >= 1
    assert "kink" in str(result)


# ---------------------------------------------------------------- planted bugs

def test_dw_divided_by_batch_size_again(affine_inputs):
    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx, dw / cache[0].shape[0], db

    result = gradcheck(affine_forward, backward, *affine_inputs)
    assert result.status == "fail" and not result.ok
    dw = by_name(result, "w")
    assert dw.pattern == "batch_size"
    assert "4 is the batch size N" in dw.finding.what
    assert "divided by N=4 again" in result.hint
    assert by_name(result, "x").status == "pass"
    assert repr(result).startswith("GradcheckResult(ok=False")
    assert "dw[" in str(result)


def test_factor_of_two(affine_inputs):
    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return 2 * dx, dw, db

    result = gradcheck(affine_forward, backward, *affine_inputs)
    dx = by_name(result, "x")
    assert dx.pattern == "factor"
    assert "a factor of 2" in dx.finding.what and "½·reg·‖W‖²" in dx.finding.likely


def test_sign_flipped(affine_inputs):
    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return -dx, dw, db

    result = gradcheck(affine_forward, backward, *affine_inputs)
    assert by_name(result, "x").pattern == "sign"
    assert "sign is flipped" in str(result)


def test_dw_transposed():
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((3, 3)), rng.standard_normal(3)

    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx, (dout.T @ x), db

    result = gradcheck(affine_forward, backward, x, w, b)
    assert by_name(result, "w").pattern == "transposed"
    assert "transpose of the numerical gradient" in str(result)


def test_dw_transposed_through_a_reshape(affine_inputs):
    x, w, b = affine_inputs

    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx, (dout.T @ x).reshape(w.shape), db

    result = gradcheck(affine_forward, backward, x, w, b)
    assert by_name(result, "w").pattern == "transposed"
    assert "reshaped back" in str(result)


def test_db_never_written(affine_inputs):
    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx, dw, np.zeros_like(db)

    result = gradcheck(affine_forward, backward, *affine_inputs)
    db = by_name(result, "b")
    assert db.pattern == "zeros" and db.rel_error == pytest.approx(1.0)
    assert "db is all zeros" in str(result) and "never written" in result.hint


def test_dx_in_the_wrong_shape():
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((3, 2, 2)), rng.standard_normal((4, 5)), rng.standard_normal(5)

    def backward(dout, cache):
        x, w, _ = cache
        return dout @ w.T, x.reshape(3, -1).T @ dout, dout.sum(axis=0)  # dx not reshaped back

    result = gradcheck(affine_forward, backward, x, w, b)
    assert result.status == "fail" and result.pattern == "shape"
    assert "dx has shape (3, 4), expected (3, 2, 2)" in result.message


def test_gradients_returned_in_the_wrong_order_by_shape(affine_inputs):
    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dw, dx, db

    result = gradcheck(affine_forward, backward, *affine_inputs)
    assert result.pattern == "swapped"
    assert "wrong order" in result.hint and "return dx, dw, db" in result.hint


def test_gradients_returned_in_the_wrong_order_same_shapes():
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((3, 3)), rng.standard_normal((3, 3)), rng.standard_normal(3)

    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dw, dx, db

    result = gradcheck(affine_forward, backward, x, w, b)
    assert by_name(result, "x").pattern == "swapped"
    assert "in each other's place" in str(result)


def test_only_the_first_row_is_right(affine_inputs):
    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        dx[1:] = dout[1:] @ cache[1].T[:, ::-1]  # rows 1.. use a scrambled w
        return dx, dw, db

    result = gradcheck(affine_forward, backward, *affine_inputs)
    dx = by_name(result, "x")
    assert dx.pattern == "rows"
    assert "only the first row of dx" in dx.finding.what


def test_conv_backward_wrong_at_the_border():
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)

    def backward(dout, cache):
        dx, dw, db = conv_backward(dout, cache)
        dx = dx.copy()
        dx[:, :, [0, -1], :] *= 0.5  # as if the edge windows were counted once instead of twice
        dx[:, :, :, [0, -1]] *= 0.5
        return dx, dw, db

    assert gradcheck(conv_forward, conv_backward, x, w, b).status == "pass"
    result = gradcheck(conv_forward, backward, x, w, b)
    dx = by_name(result, "x")
    assert dx.pattern == "border"
    assert "border pixels" in dx.finding.what and "padding or stride" in dx.finding.likely


def test_relu_backward_without_the_mask():
    x = np.random.default_rng(6).standard_normal((5, 4))
    result = gradcheck(relu_forward, lambda dout, cache: dout.copy(), x, subject="relu_backward")
    dx = by_name(result, "x")
    assert dx.pattern == "mask"
    assert "mask" in dx.finding.likely and "relu_backward" in str(result)


def test_backward_using_ones_instead_of_dout(affine_inputs):
    def backward(dout, cache):
        ones = np.ones_like(dout)
        return affine_backward(ones, cache)

    result = gradcheck(affine_forward, backward, *affine_inputs)
    assert result.status == "fail"
    assert result.patterns == ["ignores_dout"]
    assert "ignores dout" in result.message
    assert result.max_rel_error > 0.1  # measured, not left at 0 by an early stop


def test_backward_using_dout_elementwise_where_a_product_belongs():
    """dx = mean(dout) * rowsum(w) equals dout @ w.T when dout is all ones, not otherwise."""
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 5))

    def forward(x, w):
        return x @ w, (x, w)

    def backward(dout, cache):
        x, w = cache
        return dout.mean(axis=1, keepdims=True) * w.sum(axis=1), x.T @ dout

    result = gradcheck(forward, backward, x, w)
    assert by_name(result, "x").pattern == "ignores_dout"
    assert by_name(result, "w").status == "pass"
    assert "right for an upstream gradient of ones" in str(result)


def test_list_instead_of_an_array_is_a_one_line_error():
    x = np.random.default_rng(0).standard_normal((3, 2))
    result = gradcheck(relu_forward, lambda dout, cache: dout.tolist(), x, subject="relu_backward")
    assert result.status == "error"
    assert result.message == "relu_backward returned a list for dx; expected a numpy array"


def test_nan_in_the_backward_pass(affine_inputs):
    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        dw[0, 0] = np.nan
        return dx, dw, db

    result = gradcheck(affine_forward, backward, *affine_inputs)
    assert result.status == "fail" and result.pattern == "nan"
    assert "dw contains NaN" in result.message and "dw[0, 0]" in result.message


def test_backward_that_mutates_its_cache():
    x = np.random.default_rng(8).standard_normal((3, 4))

    def backward(dout, cache):
        out = cache
        out *= 1 - out  # in place: the second call sees s(1-s) instead of s
        return dout * out

    result = gradcheck(sigmoid_forward, backward, x, subject="sigmoid_backward")
    # Right the first time: a harmful habit, warned, with the array it wrote into.
    assert result.status == "warn" and result.pattern == "mutates_input", str(result)
    assert "sigmoid_backward wrote into its cache (cache)" in result.message
    assert "second backward pass with the same cache" in result.hint


def test_dropout_ignoring_its_seed():
    x = np.random.default_rng(9).standard_normal((20, 10))

    def dropout_forward(x, dropout_param):
        mask = (np.random.rand(*x.shape) < dropout_param["p"]) / dropout_param["p"]
        return x * mask, mask

    result = gradcheck(dropout_forward, lambda dout, mask: dout * mask, x,
                       args=({"p": 0.5, "seed": 123, "mode": "train"},))
    assert result.pattern == "nondeterministic_forward"
    assert "seed" in result.hint and "dropout_forward" in result.message


# --------------------------------------------------------- bad output from the user's code

def test_stub_raising_not_implemented_is_a_skip(affine_inputs):
    def backward(dout, cache):
        raise NotImplementedError

    result = gradcheck(affine_forward, backward, *affine_inputs)
    assert result.status == "skip" and "backward" in result.message


def test_stub_returning_none_is_a_skip(affine_inputs):
    result = gradcheck(affine_forward, lambda dout, cache: (None, None, None), *affine_inputs)
    assert result.status == "skip"


@pytest.mark.parametrize("returned, words", [
    (lambda dout, cache: 3, "returned an int; expected a tuple of 3 gradients (dx, dw, db)"),
    (lambda dout, cache: (np.ones((4, 5)), np.ones((5, 3))), "returned 2 gradient(s) for 3 inputs"),
    (lambda dout, cache: 1 / 0, "ZeroDivisionError"),
])
def test_bad_returns_are_one_line_errors(affine_inputs, returned, words):
    result = gradcheck(affine_forward, returned, *affine_inputs, subject="affine_backward")
    assert result.status == "error", str(result)
    assert words in result.message and "affine_backward" in result.message
    assert "\n" not in result.message


def test_forward_returning_nan_is_an_error(affine_inputs):
    result = gradcheck(lambda x, w, b: (x @ w + np.nan, None), affine_backward, *affine_inputs)
    assert result.status == "error" and "NaN" in result.message


def test_assert_helper_raises_with_the_diagnosis(affine_inputs):
    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx, dw, -db

    with pytest.raises(AssertionError, match="sign is flipped"):
        assert_gradients_match(affine_forward, backward, *affine_inputs)
    assert assert_gradients_match(affine_forward, affine_backward, *affine_inputs).ok


# ---------------------------------------------------------------- loss and model modes

def softmax_loss(x, y):
    shifted = x - x.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    n = x.shape[0]
    dx = np.exp(logp)
    dx[np.arange(n), y] -= 1
    return -logp[np.arange(n), y].mean(), dx / n


def test_loss_mode_passes_and_finds_a_missing_division():
    rng = np.random.default_rng(10)
    x, y = rng.standard_normal((6, 4)) * 50, rng.integers(0, 4, 6)  # large scores: stable softmax
    assert gradcheck_loss(softmax_loss, x, y).status == "pass"
    result = gradcheck_loss(lambda x, y: (softmax_loss(x, y)[0], softmax_loss(x, y)[1] * 6),
                            x / 50, y, subject="softmax_loss")
    assert by_name(result, "x").pattern == "batch_size"
    assert "not divided by N=6" in result.hint


class TinyModel:
    """One affine layer and a softmax loss with 0.5·reg·‖W‖²; `reg_grad` scales the reg gradient."""

    def __init__(self, reg=0.3, reg_grad=1.0, dtype=np.float64, fail=False):
        rng = np.random.default_rng(11)
        self.params = {"W1": rng.standard_normal((5, 3)).astype(dtype),
                       "b1": rng.standard_normal(3).astype(dtype)}
        self.reg, self.reg_grad, self.fail, self.calls = reg, reg_grad, fail, 0

    def loss(self, X, y):
        self.calls += 1
        if self.fail and self.calls > 3:
            raise ValueError("boom")
        W, b = self.params["W1"], self.params["b1"]
        loss, dscores = softmax_loss(X @ W + b, y)
        loss += 0.5 * self.reg * np.sum(W * W)
        grads = {"W1": X.T @ dscores + self.reg_grad * self.reg * W, "b1": dscores.sum(axis=0)}
        return loss, grads


@pytest.fixture
def batch():
    rng = np.random.default_rng(12)
    return rng.standard_normal((6, 5)), rng.integers(0, 3, 6)


def test_model_mode_passes_and_restores_params(batch):
    model = TinyModel()
    before = {k: v.copy() for k, v in model.params.items()}
    result = gradcheck_model(model, *batch, mode="full")
    assert result.status == "pass", str(result)
    assert [r.name for r in result.per_input] == ["W1", "b1"]
    assert all(np.array_equal(model.params[k], v) for k, v in before.items())


@pytest.mark.parametrize("reg_grad, word", [(0.0, "missing"), (2.0, "doubled")])
def test_model_regularisation_missing_or_doubled(batch, reg_grad, word):
    result = gradcheck_model(TinyModel(reg_grad=reg_grad), *batch)
    w1 = by_name(result, "W1")
    assert w1.pattern == "regularisation"
    assert f"regularisation gradient is {word}" in w1.finding.what
    assert by_name(result, "b1").status == "pass"


def test_model_params_restored_when_loss_raises(batch):
    model = TinyModel(fail=True)
    before = {k: v.copy() for k, v in model.params.items()}
    result = gradcheck_model(model, *batch, mode="full")
    assert result.status == "error" and "ValueError: boom" in result.message
    assert all(np.array_equal(model.params[k], v) for k, v in before.items())


def test_float32_model_asks_for_float64(batch):
    result = gradcheck_model(TinyModel(dtype=np.float32), *batch)
    assert result.status == "error" and "dtype=np.float64" in result.message


# ----------------------------------------------------------------------------- views

def test_outcome_and_views(affine_inputs):
    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx, dw / 4, db

    result = gradcheck(affine_forward, backward, *affine_inputs)
    outcome = result.to_outcome()
    assert outcome.status == "fail" and outcome.hint == result.hint
    assert outcome.details["max_rel_error"] == result.max_rel_error
    assert "batch_size" in outcome.details["patterns"]
    assert outcome.details["per_input"]["w"]["worst_index"] is not None
    from rich.console import Console
    console = Console(width=100, record=True, file=open("/dev/null", "w"), color_system=None)
    console.print(result)
    text = console.export_text()
    assert "dw" in text and "batch_size" in text and "FAIL" in text
    assert sk.gradcheck is gradcheck


def test_h_sweep_shows_round_off_growing_for_float32_code(affine_inputs):
    from sanitykit.engine.gradcheck import h_sweep

    def forward32(x, w, b):
        return affine_forward(x.astype(np.float32), w.astype(np.float32), b.astype(np.float32))

    def backward32(dout, cache):
        return tuple(g.astype(np.float64) for g in affine_backward(dout.astype(np.float32), cache))

    sweep = dict(h_sweep(forward32, backward32, *affine_inputs, steps=(1e-2, 1e-6)))
    assert sweep[1e-6] > 10 * sweep[1e-2]  # float32 round-off dominates at tiny h


def test_float32_code_widens_thresholds_with_a_note(affine_inputs):
    def forward32(x, w, b):
        out, cache = affine_forward(*(a.astype(np.float32) for a in (x, w, b)))
        return out, cache

    result = gradcheck(forward32, affine_backward, *affine_inputs)
    assert result.ok, str(result)
    assert any("your code casts" in n for n in result.notes)
    assert result.thresholds.suspicious == pytest.approx(1e-2)


def test_summed_softmax_loss_is_told_apart_from_a_layer_dividing_twice():
    # A loss owns its 1/N: analytic = numerical / N means loss and dx disagree about it.
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)

    def summed(x, y):
        loss, dx = softmax_loss(x, y)
        return loss * x.shape[0], dx

    result = gradcheck_loss(summed, x, y)
    assert by_name(result, "x").pattern == "batch_size"
    assert "summed over the batch" in result.hint
    assert "dout" not in result.hint


def test_swapped_gradients_do_not_report_a_zero_error(affine_inputs):
    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dw, dx, db

    x, w, b = affine_inputs
    result = gradcheck(affine_forward, backward, x, w, b)
    assert result.status == "fail" and result.max_rel_error == 1.0


def test_dropout_backward_returning_dout_is_a_mask_bug():
    from sanitykit.reference import dropout_forward

    x = np.random.default_rng(4).standard_normal((6, 6))
    result = gradcheck(dropout_forward, lambda dout, cache: dout, x,
                       args=({"mode": "train", "p": 0.5, "seed": 1},))
    assert result.patterns == ["mask"]
    assert "mask is not applied" in result.message
    assert "0.5 × numerical" in result.message


def test_softmax_dx_wrong_only_at_the_correct_class_is_named():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 5)), rng.integers(0, 5, 8)

    def forgot_minus_one(x, y):
        loss, dx = softmax_loss(x, y)
        dx[np.arange(8), y] += 1 / 8  # undo the "- 1" at the correct class
        return loss, dx

    result = gradcheck_loss(forgot_minus_one, x, y)
    assert result.patterns == ["correct_class"]
    assert "dx[i, y[i]]" in result.message


def test_conv_dx_cropped_from_the_corner_is_a_shift():
    from sanitykit.reference import conv_backward_naive, conv_forward_naive

    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)

    def corner_crop(dout, cache):
        dx, dw, db = conv_backward_naive(dout, cache)
        dx_pad = np.pad(dx, ((0, 0), (0, 0), (1, 1), (1, 1)))
        return dx_pad[:, :, :5, :5], dw, db  # the bug: keeps the top/left padding

    result = gradcheck(conv_forward_naive, corner_crop, x, w, b, args=({"stride": 1, "pad": 1},))
    assert result.patterns == ["shifted"]
    assert "pad:pad + H" in result.hint


# ------------------------------------------- patterns found after the independent QA pass

def test_fast_mode_names_a_constant_ratio_and_points_to_auto(affine_inputs):
    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx, dw / 4, db  # N = 4

    result = gradcheck(affine_forward, backward, *affine_inputs, mode="fast")
    dw = by_name(result, "w")
    assert result.status == "fail" and dw.pattern == "batch_size"
    assert "mode='auto'" in str(result)


def test_fast_mode_failure_without_a_pattern_says_what_fast_mode_probed():
    x = np.random.default_rng(8).standard_normal((3, 4))
    result = gradcheck(sigmoid_forward, lambda dout, out: dout * out, x, mode="fast",
                       subject="sigmoid_backward")
    assert result.status == "fail" and result.mode == "fast+probed"
    assert "fast mode: named from 12 probed coordinates" in str(result)
    assert "mode='auto'" in str(result)


def test_fast_mode_step_across_relu_kinks_is_a_warning():
    x = np.array([[2e-6, -2e-6, 0.0, 5e-6], [-4e-6, 0.7, -0.2, 1e-6]])
    result = gradcheck(relu_forward, relu_backward, x, mode="fast")
    assert result.status in ("pass", "warn")
    assert gradcheck(relu_forward, relu_backward, x, mode="auto").status in ("pass", "warn")


def test_dx_using_w_where_w_transposed_belongs():
    rng = np.random.default_rng(12)
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 4)), rng.standard_normal(4)

    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dout @ cache[1], dw, db

    dx = by_name(gradcheck(affine_forward, backward, x, w, b), "x")
    assert dx.pattern == "transposed" and "w.T" in dx.finding.what


def test_db_summed_over_the_wrong_axis_when_shapes_agree():
    rng = np.random.default_rng(13)
    x, w, b = rng.standard_normal((3, 2)), rng.standard_normal((2, 3)), rng.standard_normal(3)

    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx, dw, dout.sum(axis=1)

    result = gradcheck(affine_forward, backward, x, w, b)
    db = by_name(result, "b")
    assert db.pattern == "wrong_axis" and "axis=0" in db.finding.likely
    assert "ignores_dout" not in result.patterns


def test_conv_kernel_gradient_rotated_by_180_degrees():
    rng = np.random.default_rng(14)
    x, w, b = rng.standard_normal((2, 2, 4, 4)), rng.standard_normal((2, 2, 3, 3)), rng.standard_normal(2)

    def backward(dout, cache):
        dx, dw, db = conv_backward(dout, cache)
        return dx, dw[:, :, ::-1, ::-1], db

    dw = by_name(gradcheck(conv_forward, backward, x, w, b), "w")
    assert dw.pattern == "flipped" and "180" in dw.finding.what


def test_conv_dx_copied_from_the_first_example_is_not_called_ignoring_dout():
    rng = np.random.default_rng(15)
    x, w, b = rng.standard_normal((3, 2, 4, 4)), rng.standard_normal((2, 2, 3, 3)), rng.standard_normal(2)

    def backward(dout, cache):
        dx, dw, db = conv_backward(dout, cache)
        dx = dx.copy()
        dx[1:] = dx[0]
        return dx, dw, db

    dx = by_name(gradcheck(conv_forward, backward, x, w, b), "x")
    assert dx.pattern == "examples" and "only the first example" in dx.finding.what


def test_leaky_relu_backward_with_the_wrong_negative_slope():
    x = np.random.default_rng(16).standard_normal((4, 3))
    x = np.where(np.abs(x) < 0.1, 0.4, x)

    def forward(x):
        return np.where(x > 0, x, 0.2 * x), x

    def backward(dout, x):
        return dout * np.where(x > 0, 1.0, 0.05)

    dx = by_name(gradcheck(forward, backward, x), "x")
    assert dx.pattern == "negative_slope" and "numerical / 4" in dx.finding.what and "x < 0" in dx.finding.what


def test_max_pool_routing_dout_to_the_last_element_of_each_window():
    x = np.random.default_rng(17).permutation(32).reshape(1, 2, 4, 4) / 8.0

    def forward(x):
        n, c, h, w = x.shape
        return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5)), x

    def backward(dout, x):
        dx = np.zeros_like(x)
        dx[:, :, 1::2, 1::2] = dout  # always the bottom-right element, not the maximum
        return dx

    dx = by_name(gradcheck(forward, backward, x), "x")
    assert dx.pattern == "max_route" and "argmax" in dx.finding.fix


def pool_forward(x):
    """2x2 max pool, stride 2."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5)), x


def pool_to_every_element(dout, x):
    """The planted bug: each window's dout goes to all four elements, not only to its max."""
    return np.repeat(np.repeat(dout, 2, axis=2), 2, axis=3)


@pytest.mark.parametrize("subject", ["max_pool_backward_naive", "max_pool_backward_fast"])
def test_max_pool_sending_dout_to_the_whole_window_speaks_of_the_window_max(subject):
    x = np.random.default_rng(19).permutation(32).reshape(1, 2, 4, 4) / 8.0

    result = gradcheck(pool_forward, pool_to_every_element, x, subject=subject)

    dx = by_name(result, "x")
    assert dx.pattern == "mask"
    # 3 of the 4 elements of every window are not its max: their true gradient is 0.
    assert "(24 elements)" in dx.finding.what
    assert "window.max()" in dx.finding.fix and "x > 0" not in dx.finding.fix + dx.finding.likely
    assert "ReLU" not in result.hint


@pytest.mark.parametrize("subject, words", [("relu_backward", "dout * (x > 0)"),
                                            ("dropout_backward", "dout * mask"),
                                            ("conv_relu_pool_backward", "window.max()")])
def test_a_missing_mask_is_told_in_the_words_of_the_layer(subject, words):
    x = np.random.default_rng(20).permutation(32).reshape(1, 2, 4, 4) / 8.0 - 2.0

    result = gradcheck(pool_forward, pool_to_every_element, x, subject=subject)

    assert by_name(result, "x").pattern == "mask"
    assert words in result.hint


def test_batchnorm_dx_without_the_variance_path_is_not_called_ignoring_dout():
    rng = np.random.default_rng(18)
    x, gamma = rng.standard_normal((5, 3)), 1 + 0.2 * rng.standard_normal(3)

    def forward(x, gamma):
        xhat = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
        return gamma * xhat, (x, xhat, gamma)

    def backward(dout, cache):
        x, xhat, gamma = cache
        ivar = 1 / np.sqrt(x.var(0) + 1e-5)
        dxhat = dout * gamma
        return dxhat * ivar - (dxhat * ivar).mean(0), (dout * xhat).sum(0)

    result = gradcheck(forward, backward, x, gamma)
    assert "ignores_dout" not in result.patterns
    assert by_name(result, "x").pattern == "variance_term"


def batchnorm_forward(x, gamma, beta):
    xhat = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
    return gamma * xhat + beta, (x, xhat, gamma)


def batchnorm_backward_alt(gamma_power):
    """The compact backward pass with dxhat = dout * gamma**gamma_power (1 is right)."""
    def backward(dout, cache):
        x, xhat, gamma = cache
        n = x.shape[0]
        dxhat = dout * gamma ** gamma_power
        dx = (dxhat * n - dxhat.sum(0) - xhat * (dxhat * xhat).sum(0)) / (n * np.sqrt(x.var(0) + 1e-5))
        return dx, (dout * xhat).sum(0), dout.sum(0)
    return backward


def check_style_batch(seed):
    """Inputs drawn the way a check draws them: from default_rng(seed), the gradcheck's own seed."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((8, 4)) * rng.uniform(0.5, 3, 4) + rng.uniform(-2, 2, 4)
    return x, rng.uniform(0.5, 2, 4), rng.standard_normal(4)


@pytest.mark.parametrize("mode", ["auto", "full"])
def test_batchnorm_dx_without_gamma_is_named_per_feature(mode):
    x, gamma, beta = check_style_batch(0)
    assert gradcheck(batchnorm_forward, batchnorm_backward_alt(1), x, gamma, beta,
                     seed=0, mode=mode).status == "pass"

    result = gradcheck(batchnorm_forward, batchnorm_backward_alt(0), x, gamma, beta,
                       seed=0, mode=mode)

    dx = by_name(result, "x")
    # Without gamma, dx = numerical / gamma in each column: every element is off unless gamma = 1.
    assert dx.wrong == x.size
    assert dx.pattern == "feature_factor" and "1 / gamma" in dx.finding.what
    assert "gamma is missing" in dx.finding.likely and "dout * gamma" in dx.finding.fix
    for index, analytic, numeric, _ in dx.worst:
        assert analytic == pytest.approx(numeric / gamma[index[1]], rel=1e-5)


def test_batchnorm_dx_with_gamma_twice_is_named_per_feature():
    x, gamma, beta = check_style_batch(3)

    dx = by_name(gradcheck(batchnorm_forward, batchnorm_backward_alt(2), x, gamma, beta, seed=3), "x")

    assert dx.pattern == "feature_factor" and "gamma × numerical" in dx.finding.what
    assert "twice" in dx.finding.likely


def test_dout_is_not_drawn_from_the_callers_stream():
    """Inputs from default_rng(seed) and a dout from the same stream would make dout an affine
    function of x per column, for which a batchnorm's dx is 0 and every backward looks right."""
    x, gamma, beta = check_style_batch(0)

    result = gradcheck(batchnorm_forward, batchnorm_backward_alt(1), x, gamma, beta, seed=0,
                       mode="full")

    # dx of batchnorm for a random dout has elements of order gamma / std(x), not 1e-5.
    assert np.abs(by_name(result, "x").numeric).max() > 0.1


def test_a_term_outside_dout_is_found_even_when_the_sample_misses_it():
    rng = np.random.default_rng(19)
    x, w, b = rng.standard_normal((20, 60)), rng.standard_normal((60, 8)), rng.standard_normal(8)

    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        dw = dw.copy()
        dw[41, 6] += 0.5
        return dx, dw, db

    result = gradcheck(affine_forward, backward, x, w, b, budget=50)
    dw = by_name(result, "w")
    assert result.status == "fail" and dw.worst_index == (41, 6)
    assert "dw[41, 6]" in dw.finding.what


def test_a_constant_factor_near_one_is_suspicious_and_says_so(affine_inputs):
    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx * 1.00002, dw, db

    result = gradcheck(affine_forward, backward, *affine_inputs)
    assert result.status == "warn"
    assert "1.00002 × numerical everywhere" in by_name(result, "x").finding.what


def test_forward_without_a_cache_is_named_when_backward_unpacks_it(affine_inputs):
    def backward(dout, cache):
        x, w, b, extra = cache
        return affine_backward(dout, (x, w, b))

    result = gradcheck(lambda x, w, b: affine_forward(x, w, b)[0], backward, *affine_inputs)
    assert result.status == "error"
    assert "returned no cache" in result.problem and "return (out, cache)" in result.problem


def test_full_mode_names_gradients_returned_in_each_others_place():
    rng = np.random.default_rng(20)
    x, w, b = rng.standard_normal((3, 3)), rng.standard_normal((3, 3)), rng.standard_normal(3)

    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dw, dx, db

    assert "swapped" in gradcheck(affine_forward, backward, x, w, b, mode="full").patterns


def test_the_first_line_of_a_failure_says_what_is_wrong(affine_inputs):
    # pytest's short summary and an AssertionError headline show only the first line.
    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx, dw / dout.shape[0], db

    first = str(gradcheck(affine_forward, backward, *affine_inputs)).splitlines()[0]
    assert first.startswith("gradcheck of backward: FAIL: dw is wrong:"), first
