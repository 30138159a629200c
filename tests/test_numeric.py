"""numeric.py: the course's rel_error and central differences against hand-derived gradients."""
import numpy as np
import pytest

from sanitykit.engine.numeric import (directional_differences, numerical_gradient,
                                      one_sided_differences, rel_error)


def test_rel_error_is_the_course_formula():
    assert rel_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    with pytest.raises(ValueError):
        rel_error(np.zeros(2), np.zeros(3))


def test_numerical_gradient_of_a_cubic_matches_the_derivative_and_restores_x():
    x = np.array([[0.5, -1.0], [2.0, 0.3]])
    before = x.copy()
    grad = numerical_gradient(lambda z: np.sum(z ** 3), x)
    assert rel_error(grad, 3 * before ** 2) < 1e-8
    assert np.array_equal(x, before)


def test_one_sided_differences_bracket_the_relu_kink_and_average_to_the_derivative():
    x = np.array([2.0, 4e-6, -1.0])
    u = np.array([1.0, 1.0, 1.0])
    f = lambda: np.maximum(x, 0)  # noqa: E731 - evaluate() reads the perturbed x
    out0 = f()
    d_plus, d_minus = one_sided_differences(f, x, np.arange(3), out0, u, 1e-5)
    assert d_plus == pytest.approx([1.0, 1.0, 0.0])
    assert d_minus == pytest.approx([1.0, 0.4, 0.0])  # the kink at 0 lies in [x - h, x]
    assert np.array_equal(x, [2.0, 4e-6, -1.0])


def test_directional_difference_of_a_quadratic_is_the_inner_product():
    rng = np.random.default_rng(0)
    x, v, u = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(5)
    before = x.copy()
    f = lambda: x ** 2  # noqa: E731
    d_plus, d_minus = directional_differences(f, x, v, f(), u, 1e-5)
    assert 0.5 * (d_plus + d_minus) == pytest.approx(np.dot(2 * before * u, v), rel=1e-8)
    assert np.array_equal(x, before)


def test_one_sided_differences_restore_x_when_f_raises():
    x = np.ones(3)

    def f():
        if x[1] != 1.0:
            raise ValueError("boom")
        return x.copy()

    with pytest.raises(ValueError):
        one_sided_differences(f, x, [0, 1], f(), np.ones(3), 1e-5)
    assert np.array_equal(x, np.ones(3))


def test_forward_returning_its_input_is_checked_not_zeroed():
    # Test-mode dropout returns x itself; the perturbation must not leak into the saved output.
    import sanitykit as sk

    x = np.random.default_rng(0).standard_normal((4, 5))
    identity = lambda x: x  # noqa: E731
    assert sk.rel_error(sk.numerical_gradient(identity, x, dout=np.ones_like(x)), np.ones_like(x)) < 1e-8
    result = sk.gradcheck(lambda x: (x, None), lambda dout, cache: dout, x, mode="full")
    assert result.status == "pass", str(result)


def test_kink_bound_of_a_relu_step_is_the_hand_derived_second_difference():
    # relu at x = 1e-6 with h = 1e-5 along e0: out(x+h) = 1.1e-5, out(x) = 1e-6, out(x-h) = 0,
    # so the second difference is 9e-6 and the bound 9e-6 / h = 0.9; the central difference
    # 0.55 misses the true derivative 1 by 0.45 = bound / 2, as one kink does.
    from sanitykit.engine.numeric import directional_quotients
    x = np.array([1e-6, 1.0])
    evaluate = lambda: np.maximum(0, x)  # noqa: E731
    d_plus, d_minus, bound = directional_quotients(evaluate, x, np.array([1.0, 0.0]), evaluate(),
                                                   np.ones(2), 1e-5)
    assert bound == pytest.approx(0.9, rel=1e-6)
    assert abs(0.5 * (d_plus + d_minus) - 1.0) == pytest.approx(bound / 2, rel=1e-6)
    assert np.array_equal(x, [1e-6, 1.0])


def test_kink_bound_of_a_smooth_function_is_of_order_h():
    # x**2 has second difference 2 h² v² per element: the bound is 2 h |v|² = 2e-5 here.
    from sanitykit.engine.numeric import directional_quotients
    x = np.array([0.3, -0.7])
    v = np.array([0.6, 0.8])
    evaluate = lambda: x ** 2  # noqa: E731
    _, _, bound = directional_quotients(evaluate, x, v, evaluate(), np.ones(2), 1e-5)
    assert bound == pytest.approx(2e-5, rel=1e-3)
