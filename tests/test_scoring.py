"""What each result is worth in a grade (sanitykit.front.scoring)."""
from sanitykit.front.scoring import CREDIT, NOT_APPLICABLE, ZERO, credit_kinds


def check(id, status, message="", **reason):
    """A report's check dict; `reason` keywords (kind, responsible, see) make its reason."""
    return {"id": id, "status": status, "message": message, "details": {},
            "reason": {"responsible": [], "see": [], **reason} if reason else None}


REPORT = [
    check("layers.affine.gradcheck", "fail", "dw is wrong"),
    check("layers.relu.gradcheck", "warn", "near a kink"),
    check("layers.dropout.scaling", "skip", "dropout_forward is not implemented yet",
          kind="not_implemented", responsible=["dropout_forward"]),
    check("layers.leaky_relu.interface", "skip", "leaky_relu_forward not found in the target",
          kind="missing", responsible=["leaky_relu_forward"]),
    check("layers.leaky_relu.forward", "skip", "depends on layers.leaky_relu.interface, which was skipped",
          kind="depends_on", see=["layers.leaky_relu.interface"]),
    check("models.cnn.gradcheck", "skip", "fails only because of affine_backward (see layers.affine.gradcheck)",
          kind="blamed", responsible=["affine_backward"], see=["layers.affine.gradcheck"]),
    check("models.cnn.init", "skip", "depends on models.cnn.gradcheck, which was skipped",
          kind="depends_on", see=["models.cnn.gradcheck"]),
    check("layers.affine.multidim", "skip", "depends on layers.affine.gradcheck, which failed",
          kind="depends_on", see=["layers.affine.gradcheck"]),
    check("models.fc_net.gradcheck_layernorm", "skip", "FullyConnectedNet has no layernorm option",
          kind="not_applicable"),
]


def test_each_kind_of_result_is_worth_what_the_grade_rules_say():
    kinds = credit_kinds(REPORT)
    assert kinds == {
        "layers.affine.gradcheck": ZERO,
        "layers.relu.gradcheck": CREDIT,               # a warning is suspicious, not wrong
        "layers.dropout.scaling": ZERO,                # a stub is unfinished work
        "layers.leaky_relu.interface": NOT_APPLICABLE,  # not in this course year
        "layers.leaky_relu.forward": NOT_APPLICABLE,   # skipped after a check that does not apply
        "models.cnn.gradcheck": CREDIT,                # the bug is graded once, under the layer
        "models.cnn.init": CREDIT,                     # skipped after a credited composite
        "layers.affine.multidim": ZERO,                # skipped after a failure
        "models.fc_net.gradcheck_layernorm": NOT_APPLICABLE,
    }


def test_an_instructors_rubric_makes_absent_functions_count():
    kinds = credit_kinds(REPORT, absent_counts=True)
    assert kinds["layers.leaky_relu.interface"] == ZERO
    assert kinds["layers.leaky_relu.forward"] == ZERO


def test_a_family_total_is_shared_by_the_checks_that_apply():
    from sanitykit.front.grading.rubric import default_rubric, score_checks
    from sanitykit.front.grading.result import SubmissionResult

    class Spec:
        def __init__(self, id):
            self.id, self.suite, self.title = id, id.split(".")[0], ""

    ids = ["layers.affine.gradcheck", "layers.relu.gradcheck", "layers.leaky_relu.interface",
           "losses.softmax.value"]
    graded = default_rubric().grade([Spec(i) for i in ids])
    results = {c["id"]: c for c in REPORT[:1]}
    results.update({
        "layers.relu.gradcheck": check("layers.relu.gradcheck", "pass"),
        "layers.leaky_relu.interface": REPORT[3],
        "losses.softmax.value": check("losses.softmax.value", "pass")})
    result = SubmissionResult("s", "graded", scores=score_checks(graded, results, "", absent_counts=False))
    by_id = {s.check.id: s for s in result.scores}
    # layers is worth 40 whatever the course year: leaky_relu does not apply, its share moves.
    assert by_id["layers.leaky_relu.interface"].points == 0
    assert by_id["layers.affine.gradcheck"].points == by_id["layers.relu.gradcheck"].points == 20
    assert (result.score, result.max_score) == (30.0, 50.0)  # relu 20 + softmax 10, of 40 + 10


def test_a_failure_caused_by_another_checks_bug_is_graded_there():
    kinds = credit_kinds([check("optim.adam.bias_correction", "fail", "no bias correction"),
                          check("training.fc_net.overfit_user_optim", "fail",
                                "fails because of adam (see optim.adam.bias_correction)",
                                kind="blamed", responsible=["adam"], see=["optim.adam.bias_correction"])])
    assert kinds == {"optim.adam.bias_correction": ZERO, "training.fc_net.overfit_user_optim": CREDIT}


def test_rewording_every_message_changes_no_credit():
    reworded = [{**c, "message": f"reworded {i}: fails only because not found", "hint": "x"}
                for i, c in enumerate(REPORT)]
    assert credit_kinds(reworded) == credit_kinds(REPORT)
    assert credit_kinds(reworded, absent_counts=True) == credit_kinds(REPORT, absent_counts=True)


def test_rewording_every_message_of_a_real_report_changes_no_score():
    """The demo's report graded by the default rubric, then with every message and hint replaced."""
    from sanitykit.checks.registry import catalogue
    from sanitykit.front.cli import DEMO_ROOT
    from sanitykit.front.grading.rubric import default_rubric, score_checks
    from sanitykit.front.runner import check as run_check

    report = run_check(DEMO_ROOT, suites=["layers", "losses", "optim", "models"]).to_dict()
    graded = default_rubric().grade(catalogue(("layers", "losses", "optim", "models")))

    def scores(checks):
        by_id = {c["id"]: c for c in checks}
        return [(s.check.id, s.credit, s.points) for s in score_checks(graded, by_id, "", absent_counts=False)]

    reworded = [{**c, "message": "fails only because of something; not found in the target",
                 "hint": "likely: nothing"} for c in report["checks"]]
    assert scores(reworded) == scores(report["checks"])
    assert any(kind == "credit" for _, kind, _ in scores(report["checks"]))
    assert any(kind == "zero" for _, kind, _ in scores(report["checks"]))
