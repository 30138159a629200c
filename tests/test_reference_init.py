"""Reference initialisers: fan-in, scale within statistical bounds, seeding."""
import numpy as np
import pytest

from sanitykit.reference.init import (INITIALISERS, fan_in, he_init, small_init, xavier_init,
                                      zeros_init)


def test_fan_in_of_affine_and_conv_shapes():
    assert fan_in((100, 50)) == 100
    assert fan_in((8, 3, 5, 5)) == 75
    with pytest.raises(ValueError):
        fan_in((3,))


@pytest.mark.parametrize("init, shape, expected_std", [
    (small_init, (200, 300), 0.01),
    (xavier_init, (200, 300), 1 / np.sqrt(200)),
    (he_init, (200, 300), np.sqrt(2 / 200)),
    (he_init, (64, 3, 5, 5), np.sqrt(2 / 75)),
])
def test_initialiser_std_matches_its_formula(init, shape, expected_std):
    w = init(shape, rng=np.random.default_rng(0))
    n = w.size
    assert w.shape == shape
    # Sample std of n Gaussians has relative standard error ~ 1/sqrt(2n); allow 5 of them.
    assert abs(w.std() / expected_std - 1) < 5 / np.sqrt(2 * n)
    assert abs(w.mean()) < 5 * expected_std / np.sqrt(n)


def test_zeros_init_is_zero():
    assert not np.any(zeros_init((3, 4)))


def test_same_generator_seed_gives_same_weights():
    a = he_init((5, 6), rng=np.random.default_rng(3))
    b = he_init((5, 6), rng=np.random.default_rng(3))
    assert np.array_equal(a, b)


def test_global_random_state_untouched():
    state = np.random.get_state()[1].copy()
    for init in INITIALISERS.values():
        init((4, 4))
    assert np.array_equal(np.random.get_state()[1], state)


def test_initialisers_table():
    assert INITIALISERS == {"zeros": zeros_init, "small": small_init,
                            "xavier": xavier_init, "he": he_init}
