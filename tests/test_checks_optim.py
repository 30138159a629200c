"""The optim suite: passes on the reference, names each planted update-rule bug."""
import numpy as np

import sanitykit.reference as reference
import sanitykit.checks.optim  # noqa: F401 - declares the suite
from sanitykit.checks.registry import REGISTRY, CheckContext, DictTarget


def suite_specs(suite):
    """The suite's checks in declaration order (importing only this suite: another suite's
    half-written module must not break these tests; catalogue() would import them all)."""
    return [spec for spec in REGISTRY.values() if spec.suite == suite]


def run(check_id, **objects):
    return REGISTRY[check_id].func(CheckContext(DictTarget(objects), seed=0))


# ---------------------------------------------------------------- planted bugs

def sgd_momentum_sign_error(w, dw, config=None):
    """v accumulates +lr*dw and is added: every step goes uphill."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v + config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def sgd_momentum_opposite_velocity(x, dx, config=None):
    """Equivalent convention (v = mu*v + lr*dx; x -= v), course-year argument names (x, dx)."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(x))
    v = config["momentum"] * v + config["learning_rate"] * dx
    config["velocity"] = v
    return x - v, config


def adam_without_bias_correction(w, dw, config=None):
    config = {} if config is None else config
    for key, value in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8)):
        config.setdefault(key, value)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    config["t"] += 1
    config["m"] = config["beta1"] * config["m"] + (1 - config["beta1"]) * dw
    config["v"] = config["beta2"] * config["v"] + (1 - config["beta2"]) * dw**2
    return w - config["learning_rate"] * config["m"] / (np.sqrt(config["v"]) + config["epsilon"]), config


def adam_t_before_increment(w, dw, config=None):
    """Older course convention: t starts at 1 and is used before being incremented."""
    config = {} if config is None else config
    for key, value in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8)):
        config.setdefault(key, value)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 1)
    b1, b2, t = config["beta1"], config["beta2"], config["t"]
    config["m"] = b1 * config["m"] + (1 - b1) * dw
    config["v"] = b2 * config["v"] + (1 - b2) * dw**2
    mt, vt = config["m"] / (1 - b1**t), config["v"] / (1 - b2**t)
    config["t"] = t + 1
    return w - config["learning_rate"] * mt / (np.sqrt(vt) + config["epsilon"]), config


def rmsprop_not_storing_cache(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))
    cache = config["decay_rate"] * config["cache"] + (1 - config["decay_rate"]) * dw**2
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


def sgd_ignoring_learning_rate(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    return w - 1e-2 * dw, config


def sgd_without_defaults(w, dw, config=None):
    return w - config["learning_rate"] * dw, config


# ---------------------------------------------------------------- tests

def test_every_optim_check_passes_on_the_reference():
    target = DictTarget.from_modules(reference)
    specs = suite_specs("optim")
    assert "optim.adam.bias_correction" in {s.id for s in specs}
    for spec in specs:
        outcome = spec.func(CheckContext(target, seed=0))
        assert outcome.status == "pass", (spec.id, outcome)


def test_momentum_sign_error_goes_uphill():
    progress = run("optim.sgd_momentum.progress", sgd_momentum=sgd_momentum_sign_error)
    assert progress.status == "fail"
    assert "uphill" in progress.message
    assert "momentum'] * v - config['learning_rate'] * dw" in progress.hint
    step = run("optim.sgd_momentum.step", sgd_momentum=sgd_momentum_sign_error)
    assert step.status == "fail"
    assert "wrong sign" in step.hint


def test_equivalent_velocity_sign_and_x_dx_names_pass():
    for aspect in ("defaults", "state", "progress"):
        outcome = run(f"optim.sgd_momentum.{aspect}", sgd_momentum=sgd_momentum_opposite_velocity)
        assert outcome.status == "pass", (aspect, outcome)


def test_adam_without_bias_correction_is_named_with_its_factor():
    outcome = run("optim.adam.bias_correction", adam=adam_without_bias_correction)
    assert outcome.status == "fail"
    assert "neither m nor v is bias-corrected" in outcome.message
    # (1 - beta1) / sqrt(1 - beta2) = 0.1 / 0.0316
    assert abs(outcome.details["step_over_lr"] - 0.1 / np.sqrt(0.001)) < 0.05
    assert run("optim.adam.step", adam=adam_without_bias_correction).status == "fail"


def test_adam_old_t_convention_is_accepted_and_named():
    step = run("optim.adam.step", adam=adam_t_before_increment)
    assert step.status == "pass" and "before its increment" in step.message
    assert run("optim.adam.bias_correction", adam=adam_t_before_increment).status == "pass"


def test_rmsprop_not_storing_cache_fails_state():
    assert run("optim.rmsprop.defaults", rmsprop=rmsprop_not_storing_cache).status == "pass"
    state = run("optim.rmsprop.state", rmsprop=rmsprop_not_storing_cache)
    assert state.status == "fail"
    assert "still all zeros" in state.message
    assert "config['cache'] = cache" in state.hint


def test_ignored_learning_rate_is_named():
    outcome = run("optim.sgd.progress", sgd=sgd_ignoring_learning_rate)
    assert outcome.status == "fail"
    assert "learning rate is ignored" in outcome.hint


def test_rule_crashing_without_config_is_an_error_not_a_crash():
    from sanitykit.engine.usercode import UserCodeError
    import pytest

    with pytest.raises(UserCodeError, match="sgd raised TypeError"):
        run("optim.sgd.defaults", sgd=sgd_without_defaults)


# ---------------------------------------------------------------- one bug, one failure

def sgd_momentum_hard_coded_rate(w, dw, config=None):
    """The learning rate written in as 1e-2 instead of read from config."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config["momentum"] * config.get("velocity", np.zeros_like(w)) - 1e-2 * dw  # planted
    config["velocity"] = v
    return w + v, config


def test_a_hard_coded_learning_rate_is_named_by_the_step_check():
    results = run_suite_part(("optim.sgd_momentum.step", "optim.sgd_momentum.progress"),
                             sgd_momentum=sgd_momentum_hard_coded_rate)
    step = results["optim.sgd_momentum.step"]
    assert step.status == "fail" and step.diagnosis.pattern == "lr_ignored", step.message
    assert "config['learning_rate']" in step.hint
    assert results["optim.sgd_momentum.progress"].status in ("fail", "skip")


def test_a_wrong_step_that_reads_the_learning_rate_is_not_called_lr_ignored():
    results = run_suite_part(("optim.sgd_momentum.step",), sgd_momentum=sgd_momentum_sign_error)
    assert results["optim.sgd_momentum.step"].diagnosis.pattern != "lr_ignored"


def run_suite_part(ids, **objects):
    """The given checks in declaration order, each seeing the earlier results (as the runner does)."""
    from sanitykit.front.runner import check_result

    target, results = DictTarget(objects), {}
    for spec in suite_specs("optim"):
        if spec.id in ids:
            results[spec.id] = check_result(spec, spec.func(CheckContext(target, seed=0, results=results)), 0.0)
    return results


def adam_wrong_beta2(w, dw, config=None):
    """Bias-corrected, but v decays with beta1 instead of beta2."""
    config = {} if config is None else config
    for key, value in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8)):
        config.setdefault(key, value)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    config["t"] += 1
    b1, t = config["beta1"], config["t"]
    config["m"] = b1 * config["m"] + (1 - b1) * dw
    config["v"] = b1 * config["v"] + (1 - b1) * dw**2  # planted: beta1 for v
    mt, vt = config["m"] / (1 - b1**t), config["v"] / (1 - config["beta2"]**t)
    return w - config["learning_rate"] * mt / (np.sqrt(vt) + config["epsilon"]), config


ADAM_IDS = ("optim.adam.bias_correction", "optim.adam.step", "optim.adam.state", "optim.adam.progress")


def test_missing_bias_correction_fails_once():
    results = run_suite_part(ADAM_IDS, adam=adam_without_bias_correction)
    assert results["optim.adam.bias_correction"].status == "fail"
    for check_id in ("optim.adam.step", "optim.adam.state"):
        assert results[check_id].status == "skip", (check_id, results[check_id])
        assert results[check_id].message.startswith(
            "fails only because of the missing bias correction (see optim.adam.bias_correction)")
    assert [i for i, r in results.items() if r.status == "fail"] == ["optim.adam.bias_correction"]


def adam_t_not_stored(w, dw, config=None):
    """The reference's update, but config['t'] is never advanced: every step is corrected as the first."""
    config = {} if config is None else config
    t = config.get("t", 0)
    next_w, config = reference.adam(w, dw, config)
    config["t"] = t
    return next_w, config


def test_another_adam_bug_is_not_blamed_on_the_bias_correction():
    results = run_suite_part(ADAM_IDS, adam=adam_wrong_beta2)
    assert results["optim.adam.step"].status == "fail"
    assert "optim.adam.step" in results["optim.adam.state"].message  # the step speaks, once
    results = run_suite_part(ADAM_IDS, adam=adam_t_not_stored)
    assert results["optim.adam.bias_correction"].status == "pass"
    assert results["optim.adam.state"].status == "fail"
    assert "optim.adam.state" in results["optim.adam.step"].message


def test_state_not_carried_fails_state_only():
    results = run_suite_part(("optim.rmsprop.step", "optim.rmsprop.state"), rmsprop=rmsprop_not_storing_cache)
    assert results["optim.rmsprop.state"].status == "fail"
    step = results["optim.rmsprop.step"]
    assert step.status == "skip" and "see optim.rmsprop.state" in step.message


def test_sign_error_fails_step_only():
    ids = ("optim.sgd_momentum.step", "optim.sgd_momentum.state", "optim.sgd_momentum.progress")
    results = run_suite_part(ids, sgd_momentum=sgd_momentum_sign_error)
    assert [i for i, r in results.items() if r.status == "fail"] == ["optim.sgd_momentum.step"]
    assert "wrong sign" in results["optim.sgd_momentum.step"].hint


# ---------------------------------------------------------------- conventions of other years, not bugs

def adam_2017(x, dx, config=None):
    """The 2017 course's adam: config.setdefault('t', 1), t incremented before the bias correction."""
    config = {} if config is None else config
    for key, value in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8),
                       ("m", np.zeros_like(x)), ("v", np.zeros_like(x)), ("t", 1)):
        config.setdefault(key, value)
    config["t"] += 1
    b1, b2, t = config["beta1"], config["beta2"], config["t"]
    config["m"] = b1 * config["m"] + (1 - b1) * dx
    config["v"] = b2 * config["v"] + (1 - b2) * dx**2
    mt, vt = config["m"] / (1 - b1**t), config["v"] / (1 - b2**t)
    return x - config["learning_rate"] * mt / (np.sqrt(vt) + config["epsilon"]), config


def adam_2017_without_v_correction(x, dx, config=None):
    """The 2017 t convention with a real bug (v not bias-corrected): must still fail."""
    config = {} if config is None else config
    for key, value in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8),
                       ("m", np.zeros_like(x)), ("v", np.zeros_like(x)), ("t", 1)):
        config.setdefault(key, value)
    config["t"] += 1
    b1, b2, t = config["beta1"], config["beta2"], config["t"]
    config["m"] = b1 * config["m"] + (1 - b1) * dx
    config["v"] = b2 * config["v"] + (1 - b2) * dx**2
    mt = config["m"] / (1 - b1**t)
    return x - config["learning_rate"] * mt / (np.sqrt(config["v"]) + config["epsilon"]), config


def rmsprop_epsilon_inside(w, dw, config=None):
    """epsilon inside the square root: np.sqrt(cache + eps), a textbook variant."""
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))
    config["cache"] = config["decay_rate"] * config["cache"] + (1 - config["decay_rate"]) * dw**2
    return w - config["learning_rate"] * dw / np.sqrt(config["cache"] + config["epsilon"]), config


def test_adam_t_starting_at_1_as_in_2017_is_a_convention_not_a_bug():
    outcomes = {i: run(i, adam=adam_2017) for i in
                ("optim.adam.step", "optim.adam.state", "optim.adam.bias_correction", "optim.adam.progress")}

    assert {i: o.status for i, o in outcomes.items() if o.status not in ("pass", "warn")} == {}
    assert "t starts at 1" in outcomes["optim.adam.state"].message
    assert "setdefault('t', 1)" in outcomes["optim.adam.state"].message


def test_adam_t_starting_at_1_does_not_excuse_a_missing_correction():
    assert run("optim.adam.state", adam=adam_2017_without_v_correction).status == "fail"


def test_rmsprop_epsilon_inside_the_square_root_warns_not_fails():
    outcomes = [run(f"optim.rmsprop.{aspect}", rmsprop=rmsprop_epsilon_inside) for aspect in ("step", "state")]

    assert [o.status for o in outcomes] in (["pass", "warn"], ["warn", "warn"])
    assert "inside the square root" in outcomes[1].message


# ---------------------------------------------------------------- nan from finite inputs, counted once

def adam_t_incremented_after_update(w, dw, config=None):
    """Today's default t = 0, but t used before its increment: the first step divides by 1 - beta1**0 = 0."""
    config = {} if config is None else config
    for key, value in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8)):
        config.setdefault(key, value)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    b1, b2, t = config["beta1"], config["beta2"], config["t"]
    config["m"] = b1 * config["m"] + (1 - b1) * dw
    config["v"] = b2 * config["v"] + (1 - b2) * dw**2
    mt, vt = config["m"] / (1 - b1**t), config["v"] / (1 - b2**t)
    config["t"] = t + 1
    return w - config["learning_rate"] * mt / (np.sqrt(vt) + config["epsilon"]), config


ALL_ADAM_IDS = (*ADAM_IDS, "optim.adam.defaults")


def test_adam_t_after_the_update_from_zero_fails_the_step_once_with_the_t_hint():
    with np.errstate(all="ignore"):
        results = run_suite_part(ALL_ADAM_IDS, adam=adam_t_incremented_after_update)
    step = results["optim.adam.step"]
    assert step.status == "fail"
    assert "nan" in step.message and "1 - beta1**0 = 0" in step.message
    assert "increment t first (config['t'] += 1)" in step.hint
    assert [i for i, r in results.items() if r.status == "fail"] == ["optim.adam.step"]
    for check_id in ("optim.adam.bias_correction", "optim.adam.defaults", "optim.adam.state"):
        assert results[check_id].status == "skip", (check_id, results[check_id])
        assert "t is still 0" in results[check_id].message
        assert "older course convention" not in results[check_id].message


def test_adam_nan_at_the_first_bowl_step_is_said_not_growing_steps():
    with np.errstate(all="ignore"):
        progress = run("optim.adam.progress", adam=adam_t_incremented_after_update)
    assert progress.status == "fail"
    assert "after the first step" in progress.message
    assert "grow" not in progress.hint and "increment t first" in progress.hint


def test_adam_nan_alone_fails_the_defaults_check():
    with np.errstate(all="ignore"):
        defaults = run("optim.adam.defaults", adam=adam_t_incremented_after_update)
    assert defaults.status == "fail" and "nan/inf in next_w" in defaults.message


def sgd_momentum_not_storing_velocity(w, dw, config=None):
    config = {} if config is None else config
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v = config["momentum"] * v - config["learning_rate"] * dw
    return w + v, config  # planted: config['velocity'] = v is missing


def test_velocity_not_stored_fails_the_state_check_only():
    ids = ("optim.sgd_momentum.step", "optim.sgd_momentum.defaults", "optim.sgd_momentum.state",
           "optim.sgd_momentum.progress")
    results = run_suite_part(ids, sgd_momentum=sgd_momentum_not_storing_velocity)
    assert [i for i, r in results.items() if r.status == "fail"] == ["optim.sgd_momentum.state"]
    defaults = results["optim.sgd_momentum.defaults"]
    assert defaults.status == "skip"
    assert defaults.message.startswith("fails only because the velocity is not stored "
                                       "(see optim.sgd_momentum.state)")


def test_rmsprop_and_adam_state_not_stored_fail_once():
    def rmsprop_forgets(w, dw, config=None):
        next_w, config = reference.rmsprop(w, dw, config)
        del config["cache"]
        return next_w, config

    def adam_forgets(w, dw, config=None):
        next_w, config = reference.adam(w, dw, config)
        del config["m"]
        return next_w, config

    for rule, fn in (("rmsprop", rmsprop_forgets), ("adam", adam_forgets)):
        ids = tuple(f"optim.{rule}.{c}" for c in ("bias_correction", "step", "defaults", "state", "progress"))
        results = run_suite_part(ids, **{rule: fn})
        assert [i for i, r in results.items() if r.status == "fail"] == [f"optim.{rule}.state"], results


# ---------------------------------------------------------------- mistakes named from the steps

def planted(rule, old, new):
    """The reference rule `rule` with the source line `old` replaced by `new` (one planted mistake)."""
    import inspect
    import textwrap

    source = textwrap.dedent(inspect.getsource(getattr(reference.optim, rule)))
    assert source.count(old) == 1, old
    namespace = {"np": np}
    exec(source.replace(old, new), namespace)  # noqa: S102 - our own reference source
    return namespace[rule]


ADAM_V = 'v = beta2 * config["v"] + (1 - beta2) * dw**2'
RULE_MISTAKES = [
    ("rmsprop", '(np.sqrt(cache) + config["epsilon"])', '(cache + config["epsilon"])', "no_sqrt", "square root"),
    ("rmsprop", 'cache = decay * config["cache"] + (1 - decay) * dw**2',
     'cache = (1 - decay) * config["cache"] + decay * dw**2', "swapped_decay", "swapped"),
    ("adam", '(np.sqrt(v_hat) + config["epsilon"])', '(v_hat + config["epsilon"])', "no_sqrt", "square root"),
    ("adam", ADAM_V, 'v = (1 - beta2) * config["v"] + beta2 * dw**2', "swapped_decay", "swapped"),
    ("adam", ADAM_V, 'v = beta1 * config["v"] + (1 - beta1) * dw**2', "wrong_beta", "decayed with beta1"),
    ("adam", 'm = beta1 * config["m"] + (1 - beta1) * dw', 'm = beta2 * config["m"] + (1 - beta2) * dw',
     "wrong_beta", "decayed with beta2"),
    ("sgd_momentum", 'v = config["momentum"] * v', 'v = (1 - config["momentum"]) * v', "swapped_decay", "1 - momentum"),
]


def test_planted_rule_mistakes_are_named_by_the_step_check_once():
    for rule, old, new, pattern, words in RULE_MISTAKES:
        ids = tuple(s.id for s in suite_specs("optim") if s.id.startswith(f"optim.{rule}."))
        results = run_suite_part(ids, **{rule: planted(rule, old, new)})
        step = results[f"optim.{rule}.step"]
        assert step.status == "fail" and step.diagnosis.pattern == pattern, (rule, new, step)
        assert words in step.message, (rule, new, step.message)
        failing = [i for i, r in results.items() if r.status == "fail"]
        assert failing == [f"optim.{rule}.step"], (rule, new, {i: results[i].message for i in failing})


def test_a_wrong_beta_is_not_called_a_missing_bias_correction():
    # v decayed with beta1 makes the first step 0.1 x lr, like a missing correction of m.
    results = run_suite_part(ADAM_IDS, adam=planted("adam", ADAM_V, 'v = beta1 * config["v"] + (1 - beta1) * dw**2'))
    bias = results["optim.adam.bias_correction"]
    assert "bias-corrected" not in bias.message and bias.reason.kind == "blamed", bias
    assert bias.reason.see == ("optim.adam.step",) and "beta1" in bias.message


def test_a_missing_correction_of_v_alone_is_named_as_such():
    results = run_suite_part(ADAM_IDS, adam=planted("adam", "v_hat = v / (1 - beta2**t)", "v_hat = v"))
    bias = results["optim.adam.bias_correction"]
    assert bias.status == "fail" and bias.diagnosis.pattern == "no_bias_correction"
    assert "m is bias-corrected but v is not" in bias.message
