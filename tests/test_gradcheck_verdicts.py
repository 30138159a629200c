"""Reference layers with one planted mistake: wrong gradient shapes read, habits warned, non-bugs explained.

Each test wraps a sanitykit.reference backward (or copies one with a line changed) the way a
student's code differs from it, runs sk.gradcheck, and asserts the pattern, the words a student
needs, and the words that would send them the wrong way.
"""
import numpy as np
import pytest

import sanitykit as sk
from sanitykit import reference as ref

MODES = ("auto", "fast", "full")


def rng(seed=0):
    return np.random.default_rng(seed)


def affine_inputs(n=4, d=5, m=3, seed=0):
    r = rng(seed)
    return r.standard_normal((n, d)), r.standard_normal((d, m)), r.standard_normal(m)


def conv_inputs(seed=1):
    r = rng(seed)
    return r.standard_normal((2, 3, 5, 6)), r.standard_normal((4, 3, 3, 3)), r.standard_normal(4)


def by_name(result, name):
    return next(r for r in result.per_input if r.name == name)


def affine_with(edit):
    """ref.affine_backward whose (dx, dw, db) go through edit(dx, dw, db, dout, cache)."""
    def affine_backward(dout, cache):
        return edit(*ref.affine_backward(dout, cache), dout, cache)
    return affine_backward


def conv_with(edit):
    def conv_backward_naive(dout, cache):
        return edit(*ref.conv_backward_naive(dout, cache), dout, cache)
    return conv_backward_naive


# ------------------------------------------------------------ 1. wrong gradient shapes, read

@pytest.mark.parametrize("mode", MODES)
def test_a_reversed_shape_is_a_transposed_product_and_no_reshape_is_advised(mode):
    backward = affine_with(lambda dx, dw, db, dout, cache: (dx, dw.T, db))
    result = sk.gradcheck(ref.affine_forward, backward, *affine_inputs(), mode=mode)
    text = str(result)
    assert result.status == "fail" and result.pattern == "reversed_shape", text
    assert "dw has shape (3, 5), expected (5, 3)" in text
    assert "dw.T matches the numerical gradient" in text  # the repair is measured
    assert "x.T @ dout" in result.hint and ".reshape(" not in result.hint


def test_the_batch_length_where_the_feature_length_belongs_is_a_sum_over_the_wrong_axis():
    backward = affine_with(lambda dx, dw, db, dout, cache: (dx, dw, dout.sum(axis=1)))
    result = sk.gradcheck(ref.affine_forward, backward, *affine_inputs())
    assert result.pattern == "reduced_wrong_axis", str(result)
    assert "sums over axis 1 where the sum belongs over axis 0" in result.message
    assert "axis=0" in result.hint and "reshape" not in result.hint


@pytest.mark.parametrize("edit, words", [
    (lambda dx, dw, db, dout, cache: (dx, dw, dout), "the shape of dout itself"),
    (lambda dx, dw, db, dout, cache: (dx, dw, dout * 1.0 + 0 * db), "nothing summed"),
])
def test_dout_shape_for_a_bias_is_a_sum_never_taken(edit, words):
    result = sk.gradcheck(ref.affine_forward, affine_with(edit), *affine_inputs())
    assert result.pattern == "not_reduced", str(result)
    assert words in result.message and "db.sum(axis=0) matches the numerical gradient" in result.message
    assert "sum over axis=0" in result.hint and "reshape" not in result.hint


def test_the_inputs_own_shape_for_dgamma_is_not_reduced_over_the_batch():
    def batchnorm_backward(dout, cache):
        dx, dgamma, dbeta = ref.batchnorm_backward(dout, cache)
        return dx, dout * cache[0], dbeta  # dgamma = dout * xhat, never summed
    r = rng(2)
    x, gamma, beta = r.standard_normal((6, 4)), r.standard_normal(4), r.standard_normal(4)
    result = sk.gradcheck(ref.batchnorm_forward, batchnorm_backward, x, gamma, beta,
                          args=({"mode": "train"},))
    assert result.pattern == "not_reduced", str(result)
    assert "dgamma has shape (6, 4), expected (4,)" in result.message


def test_a_conv_bias_summed_over_the_batch_only_is_not_summed_over_positions():
    backward = conv_with(lambda dx, dw, db, dout, cache: (dx, dw, dout.sum(axis=0)))
    result = sk.gradcheck(ref.conv_forward_naive, backward, *conv_inputs(),
                          args=({"stride": 2, "pad": 1},))
    assert result.pattern == "positions_not_summed", str(result)
    assert "(4, 3, 3)" in result.message and "output positions" in result.message
    assert "axis=(0, 2, 3)" in result.hint


def test_the_gradient_of_the_padded_input_says_crop_the_padding():
    pad = 2
    backward = conv_with(lambda dx, dw, db, dout, cache: (
        np.pad(dx, ((0, 0), (0, 0), (pad, pad), (pad, pad))), dw, db))
    result = sk.gradcheck(ref.conv_forward_naive, backward, *conv_inputs(),
                          args=({"stride": 1, "pad": pad},))
    assert result.pattern == "padded_gradient", str(result)
    assert "pad = 2" in result.message and "the cropped dx matches" in result.message
    assert "dx_pad[:, :, 2:2 + H, 2:2 + W]" in result.hint and "pad:-pad is empty" in result.hint


def test_a_flat_gradient_with_wrong_values_gets_no_reshape_advice():
    def backward(dout, cache):
        dx, dw, db = ref.affine_backward(dout, cache)
        return 2 * dx.reshape(dx.shape[0], -1), dw, db  # flat and wrong
    r = rng(3)
    x, w, b = r.standard_normal((3, 2, 2)), r.standard_normal((4, 5)), r.standard_normal(5)
    result = sk.gradcheck(ref.affine_forward, backward, x, w, b)
    assert result.pattern == "shape", str(result)
    assert "does not match the numerical gradient either" in result.message
    assert "reshape" not in result.hint


def test_a_flat_gradient_with_right_values_is_told_to_reshape():
    def backward(dout, cache):
        dx, dw, db = ref.affine_backward(dout, cache)
        return dx.reshape(dx.shape[0], -1), dw, db
    r = rng(3)
    x, w, b = r.standard_normal((3, 2, 2)), r.standard_normal((4, 5)), r.standard_normal(5)
    result = sk.gradcheck(ref.affine_forward, backward, x, w, b)
    assert result.pattern == "shape" and "the values are right" in result.message
    assert "dx.reshape(x.shape)" in result.hint


# ------------------------------------------------------------ 3. right values, harmful habits

@pytest.mark.parametrize("mode", MODES)
def test_a_row_shaped_bias_gradient_with_right_values_is_a_warning(mode):
    backward = affine_with(lambda dx, dw, db, dout, cache: (dx, dw, db[None, :]))
    result = sk.gradcheck(ref.affine_forward, backward, *affine_inputs(), mode=mode)
    db = by_name(result, "b")
    assert result.status == "warn" and db.pattern == "broadcast_shape", str(result)
    assert "b -= lr * db silently turns b into shape (1, 3)" in str(result)
    assert by_name(result, "x").status == "pass"


def test_a_row_shaped_bias_gradient_with_wrong_values_fails_on_the_values():
    backward = affine_with(lambda dx, dw, db, dout, cache: (dx, dw, 2 * db[None, :]))
    result = sk.gradcheck(ref.affine_forward, backward, *affine_inputs())
    assert result.status == "fail" and result.pattern == "broadcast_shape", str(result)
    assert "does not match the numerical gradient either" in result.message


@pytest.mark.parametrize("mode", MODES)
def test_a_backward_writing_into_dout_is_a_warning_that_says_why(mode):
    def relu_backward(dout, cache):
        dout[cache <= 0] = 0  # right values, but the caller's dout is changed
        return dout
    x = rng(4).standard_normal((4, 6))
    result = sk.gradcheck(ref.relu_forward, relu_backward, x, mode=mode)
    assert result.status == "warn" and result.pattern == "mutates_dout", str(result)
    text = str(result)
    assert "modified dout in place" in text and "set to 0" in text
    assert "used twice" in text and "residual" in text


def test_a_backward_writing_into_its_input_with_right_values_is_a_warning():
    def relu_backward(dout, cache):
        x = cache
        x[x < 0] = 0  # writes into the caller's x, then masks on the damaged copy: still right
        return dout * (x > 0)
    x = rng(5).standard_normal((4, 6))
    kept = x.copy()
    result = sk.gradcheck(ref.relu_forward, relu_backward, x)
    assert result.status == "warn" and result.pattern == "mutates_input", str(result)
    assert "modified x in place" in str(result) and "the gradients it returned are right" in str(result)
    assert np.array_equal(x, kept)


def test_a_backward_writing_into_its_input_with_wrong_values_fails_on_the_mutation():
    def affine_backward(dout, cache):
        x, w, b = cache
        x *= 0.5
        return ref.affine_backward(dout, (x, w, b))
    result = sk.gradcheck(ref.affine_forward, affine_backward, *affine_inputs())
    assert result.status == "fail" and result.pattern == "mutates_input", str(result)


def test_writing_into_dout_with_wrong_values_is_a_note_under_the_failure():
    def relu_backward(dout, cache):
        dout *= 2
        return dout * (cache > 0)
    x = rng(6).standard_normal((3, 5))
    result = sk.gradcheck(ref.relu_forward, relu_backward, x, mode="full")
    assert result.status == "fail" and by_name(result, "x").pattern == "factor", str(result)
    assert any("modified dout in place" in note for note in result.notes)


# ------------------------------------------------------------ 4. verdicts that are not bugs

def test_a_kink_gives_the_subgradient_interval():
    x = np.array([[1.0, -2.0, 3e-6], [-4e-6, 0.5, -0.7]])
    result = sk.gradcheck(ref.relu_forward, ref.relu_backward, x, mode="full")
    r = by_name(result, "x")
    assert result.status == "warn" and r.pattern == "kink"
    evidence = " ".join(r.finding.evidence)
    assert "subgradient interval [d-, d+] = [" in evidence and "lies in it" in evidence
    assert "subgradient interval" in str(result)


def test_a_fast_mode_kink_gives_the_interval_along_its_direction():
    x = np.array([[2e-6, -2e-6, 0.0, 5e-6], [-4e-6, 0.7, -0.2, 1e-6]])
    result = sk.gradcheck(ref.relu_forward, ref.relu_backward, x, mode="fast")
    assert result.status == "warn" and result.patterns == ["kink"], str(result)
    assert "[d-, d+] = [" in str(result) and "mode='auto'" in str(result)


def test_float32_code_says_which_thresholds_were_used_and_why():
    def forward(x, w, b):
        return ref.affine_forward(x.astype(np.float32), w.astype(np.float32), b.astype(np.float32))
    result = sk.gradcheck(forward, ref.affine_backward, *affine_inputs())
    assert result.status == "pass", str(result)
    note = " ".join(result.notes)
    assert "float32" in note and "h=0.001" in note and "about 7 digits" in note


def test_float32_inputs_are_rerun_in_float64_and_it_says_so():
    result = sk.gradcheck(ref.affine_forward, ref.affine_backward,
                          *(a.astype(np.float32) for a in affine_inputs()))
    assert result.status == "pass"
    assert "x was float32; checked on a float64 copy" in " ".join(result.notes)


def test_a_float32_warning_is_named_round_off_not_a_mistake():
    def forward(x):
        out = np.exp(3 * x.astype(np.float32))
        return out, out

    def backward(dout, out):
        return 3 * dout * out
    x = rng(7).standard_normal((3, 4))
    result = sk.gradcheck(forward, backward, x, mode="full",
                          thresholds={"good": 1e-9, "suspicious": 1e-2})
    assert result.status == "warn" and result.patterns == ["float32_roundoff"], str(result)
    assert "within float32 round-off" in str(result)


def test_an_unseeded_draw_is_told_from_the_noise_and_a_seeded_rerun():
    def dropout_forward(x, dropout_param):
        mask = (np.random.rand(*x.shape) < dropout_param["p"]) / dropout_param["p"]
        return x * mask, (dropout_param, mask)
    result = sk.gradcheck(dropout_forward, ref.dropout_backward, rng(8).standard_normal((4, 5)),
                          args=({"p": 0.5, "mode": "train", "seed": 1},))
    assert result.pattern == "nondeterministic_forward", str(result)
    assert "elements of out differ, by up to" in result.message
    assert "seeded alike before each call, the two calls agree" in result.message
    assert "np.random.seed(seed)" in result.hint


def test_the_seeded_rerun_puts_the_global_random_state_back():
    from sanitykit.engine.structure import _global_random_fixed
    np.random.seed(123)
    expected = np.random.rand(3)
    np.random.seed(123)
    with _global_random_fixed():
        np.random.rand(10)
    assert np.array_equal(np.random.rand(3), expected)


def test_a_generator_of_its_own_is_told_from_an_unseeded_global_draw():
    own = np.random.RandomState(0)

    def dropout_forward(x, dropout_param):
        mask = (own.rand(*x.shape) < dropout_param["p"]) / dropout_param["p"]
        return x * mask, (dropout_param, mask)
    result = sk.gradcheck(dropout_forward, ref.dropout_backward, rng(8).standard_normal((4, 5)),
                          args=({"p": 0.5, "mode": "train", "seed": 1},), mode="fast")
    assert result.pattern == "nondeterministic_forward", str(result)
    assert "even with numpy's global random state seeded alike" in result.message
    assert "generator of its own" in result.hint


@pytest.mark.parametrize("mode", MODES)
def test_a_cache_written_by_backward_with_right_values_is_a_warning_naming_the_array(mode):
    def batchnorm_backward(dout, cache):
        grads = ref.batchnorm_backward(dout, cache)
        xhat = cache[0]
        xhat *= 2  # right the first time, damaged for the next call
        return grads
    r = rng(9)
    x, gamma, beta = r.standard_normal((5, 3)), r.standard_normal(3), r.standard_normal(3)
    result = sk.gradcheck(ref.batchnorm_forward, batchnorm_backward, x, gamma, beta,
                          args=({"mode": "train"},), mode=mode)
    assert result.status == "warn" and result.pattern == "mutates_input", str(result)
    assert "wrote into its cache (cache[0])" in result.message
    assert "second backward pass" in result.hint


def test_a_backward_whose_second_call_differs_is_named_with_the_array_it_wrote():
    def batchnorm_backward(dout, cache):
        xhat = cache[0]
        xhat *= 2  # damaged before use: wrong, and wrong differently at every call
        return ref.batchnorm_backward(dout, cache)
    r = rng(9)
    x, gamma, beta = r.standard_normal((5, 3)), r.standard_normal(3), r.standard_normal(3)
    result = sk.gradcheck(ref.batchnorm_forward, batchnorm_backward, x, gamma, beta,
                          args=({"mode": "train"},))
    assert result.pattern == "nondeterministic_backward", str(result)
    assert "the call wrote into cache[0]" in result.message and "differ, by up to" in result.message
