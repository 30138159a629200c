"""pytest plugin: sanitykit's checks as test items, and helpers for hand-written tests.

`pytest --sanitykit cs231n` adds one item per check of the catalogue, named
`sanitykit::cs231n::layers.affine.gradcheck`: skip -> skipped with the reason, warn ->
passed with a SanitykitWarning, fail/error -> failed with the diagnosis as the failure
text. The whole suite runs once per target, when its first item runs. Items come from
the catalogue, not from results, so every pytest-xdist worker collects the same list.

Installed but not asked for, the plugin adds no items and no output; it imports nothing
heavy until a hook needs it.
"""
from __future__ import annotations

import fnmatch
import os
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# ---------------------------------------------------------------- options

TARGETS_HELP = ("run sanitykit's checks against TARGET (a .py file, a folder or a dotted "
                "module) as test items; repeatable")
SUITES_HELP = "only these suites (layers, losses, optim, models, training); repeatable or comma-separated"
ONLY_HELP = "only checks whose id matches this glob, e.g. 'layers.affine.*'; repeatable"
SEED_HELP = "seed of every check's random inputs (default 0)"
TIMEOUT_HELP = "time limit of one check in seconds (default 30)"
MARKER_HELP = ("sanitykit(seed=0, mode='auto'): seed and gradient-check mode "
               "('auto', 'fast' or 'full') of the sanitykit_gradcheck fixture")
MARKER_KEYS = ("seed", "mode")
MODES = ("auto", "fast", "full")
DEFAULT_SEED = 0
DEFAULT_TIMEOUT = 30.0
# Re-exported lazily from sanitykit.engine.gradcheck (module __getattr__ below).
ASSERT_HELPERS = ("assert_gradients_match", "assert_loss_gradient_matches",
                  "assert_model_gradients_match")


class SanitykitWarning(pytest.PytestWarning):
    """A sanitykit check passed with a warning: suspicious, not wrong."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sanitykit", "sanitykit: gradient and sanity checks of numpy layers")
    group.addoption("--sanitykit", action="append", dest="sanitykit_targets", default=[],
                    metavar="TARGET", help=TARGETS_HELP)
    group.addoption("--sanitykit-suite", action="append", dest="sanitykit_suites", default=[],
                    metavar="SUITE", help=SUITES_HELP)
    group.addoption("--sanitykit-only", action="append", dest="sanitykit_only", default=[],
                    metavar="GLOB", help=ONLY_HELP)
    group.addoption("--sanitykit-seed", dest="sanitykit_seed", default=None, metavar="N",
                    help=SEED_HELP)
    group.addoption("--sanitykit-timeout", dest="sanitykit_timeout", default=None,
                    metavar="SECONDS", help=TIMEOUT_HELP)
    parser.addini("sanitykit_targets", TARGETS_HELP, type="args", default=[])
    parser.addini("sanitykit_suites", SUITES_HELP, type="args", default=[])
    parser.addini("sanitykit_only", ONLY_HELP, type="args", default=[])
    parser.addini("sanitykit_seed", SEED_HELP, default=None)
    parser.addini("sanitykit_timeout", TIMEOUT_HELP, default=None)


# ---------------------------------------------------------------- settings

@dataclass(frozen=True)
class Settings:
    """What to check, resolved once: command line first, then [tool.pytest.ini_options].

    Args:
        targets: target as written (node name) -> what the runner loads.
        suites: suite names; empty means every suite.
        only: id globs; empty means every check.
        seed: seed of every check (default 0).
        timeout: seconds per check (default 30).
    """

    targets: dict[str, str]
    suites: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    seed: int = DEFAULT_SEED
    timeout: float = DEFAULT_TIMEOUT


SETTINGS = pytest.StashKey[Settings]()
REPORTS = pytest.StashKey[dict]()
WANTED = pytest.StashKey[dict]()  # target location -> ids to run (selected items + dependencies)
FIRST = pytest.StashKey[dict]()  # target location -> node id of its first selected item


def split_words(values: list[str]) -> tuple[str, ...]:
    """["layers,losses", "optim"] -> ("layers", "losses", "optim")."""
    return tuple(w.strip() for v in values for w in str(v).split(",") if w.strip())


def number_setting(config: pytest.Config, name: str, kind: type, default: Any) -> Any:
    """An int/float option from the command line or the ini file; a bad value names its origin."""
    value, origin = config.getoption(name), f"--{name.replace('_', '-')}"
    if value is None:
        value, origin = config.getini(name), f"{name} in the pytest configuration"
    if value in (None, ""):
        return default
    try:
        return kind(value)
    except ValueError:
        raise pytest.UsageError(f"{origin}: {value!r} is not a{'n integer' if kind is int else ' number'}") from None


def located(target: str, base: Any) -> str:
    """`target` found relative to `base` when that file or folder exists (shown relative to the
    working directory, as the rerun line will be typed), else as written (a module name)."""
    candidate = os.path.join(str(base), target)
    if os.path.isabs(target) or not os.path.exists(candidate):
        return target
    return os.path.relpath(candidate)


def resolve_settings(config: pytest.Config) -> Settings | None:
    """Settings when sanitykit was asked for (--sanitykit or sanitykit_targets), else None."""
    cli_targets = config.getoption("sanitykit_targets")
    if cli_targets:
        base = config.invocation_params.dir
        targets = {t: located(t, base) for t in cli_targets}
    else:
        base = config.inipath.parent if config.inipath else config.rootpath
        targets = {t: located(t, base) for t in config.getini("sanitykit_targets")}
    if not targets:
        return None
    suites = split_words(config.getoption("sanitykit_suites") or config.getini("sanitykit_suites"))
    only = split_words(config.getoption("sanitykit_only") or config.getini("sanitykit_only"))
    return Settings(targets, suites, only, number_setting(config, "sanitykit_seed", int, DEFAULT_SEED),
                    number_setting(config, "sanitykit_timeout", float, DEFAULT_TIMEOUT))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    settings = resolve_settings(config)
    if settings is None:
        return
    from sanitykit.checks.registry import SUITES

    unknown = [s for s in settings.suites if s not in SUITES]
    if unknown:
        raise pytest.UsageError(f"--sanitykit-suite: unknown suite {unknown[0]!r}; "
                                f"choose from {', '.join(SUITES)}")
    config.stash[SETTINGS] = settings
    config.stash[REPORTS] = {}


def pytest_report_header(config: pytest.Config) -> str | None:
    settings = config.stash.get(SETTINGS, None)
    if settings is None:
        return None
    from sanitykit._version import __version__

    return (f"sanitykit {__version__}: {', '.join(settings.targets)}; "
            f"suites {', '.join(settings.suites) or 'all'}; seed {settings.seed}")


# ---------------------------------------------------------------- markers

def marker_problem(node: pytest.Item) -> str | None:
    """What is wrong with the closest @pytest.mark.sanitykit (naming the bad key), or None."""
    marker = node.get_closest_marker("sanitykit")
    if marker is None or isinstance(node, CheckItem):
        return None
    where = f"{node.nodeid}: @pytest.mark.sanitykit"
    if marker.args:
        return f"{where} takes keywords only (seed=..., mode=...), got {marker.args!r}"
    for key, value in marker.kwargs.items():
        if key not in MARKER_KEYS:
            return f"{where}: unknown key {key!r}; expected {', '.join(MARKER_KEYS)}"
        if key == "seed" and (isinstance(value, bool) or not isinstance(value, int)):
            return f"{where}: seed must be an integer, not {value!r}"
        if key == "mode" and value not in MODES:
            return f"{where}: mode must be one of {', '.join(MODES)}, not {value!r}"
    return None


def marker_options(node: pytest.Item) -> dict[str, Any]:
    """seed / mode from the closest @pytest.mark.sanitykit; a bad marker fails the test naming it."""
    problem = marker_problem(node)
    if problem:
        pytest.fail(problem, pytrace=False)
    marker = node.get_closest_marker("sanitykit")
    return dict(marker.kwargs) if marker is not None else {}


@pytest.hookimpl(tryfirst=True)  # before fixtures are set up
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Reached only on a pytest-xdist worker: elsewhere a bad marker already stopped the run.
    problem = marker_problem(item)
    if problem:
        pytest.fail(problem, pytrace=False)


# ---------------------------------------------------------------- collection

def selected_specs(settings: Settings) -> list:
    """The catalogue's checks for these settings, in catalogue order (deterministic, no user code)."""
    from sanitykit.checks.registry import catalogue

    specs = catalogue(settings.suites or None)
    if settings.only:
        specs = [s for s in specs if any(fnmatch.fnmatchcase(s.id, g) for g in settings.only)]
    return specs


class SanitykitRoot(pytest.Collector):
    """The `sanitykit` node: one child per target."""

    def collect(self):
        settings = self.config.stash[SETTINGS]
        specs = selected_specs(settings)
        return [TargetNode.from_parent(self, name=name, load_from=location, specs=specs)
                for name, location in settings.targets.items()]


class TargetNode(pytest.Collector):
    """`sanitykit::<target>`: one item per selected check."""

    def __init__(self, *, load_from: str, specs: list, **kwargs):
        super().__init__(**kwargs)
        self.load_from, self.specs = load_from, specs

    def collect(self):
        return [CheckItem.from_parent(self, name=spec.id, load_from=self.load_from, spec=spec)
                for spec in self.specs]


@pytest.hookimpl(tryfirst=True)  # before -k / -m deselection and other plugins' reordering
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    # Bad marker keys stop the run before any test does. Not on a pytest-xdist worker: a
    # worker that stops after sending its collection crashes xdist; there the test fails
    # at setup instead (pytest_runtest_setup).
    problems = [] if hasattr(config, "workerinput") else list(filter(None, map(marker_problem, items)))
    if problems:
        raise pytest.UsageError("\n".join(problems))
    if config.stash.get(SETTINGS, None) is None:
        return
    # An explicit node id: under the session, pytest would otherwise start it with "::".
    root = SanitykitRoot.from_parent(session, name="sanitykit", nodeid="sanitykit")
    # genitems reports the collection like any other (counts, --collect-only, collection errors).
    items.extend(session.genitems(root))


def with_dependencies(ids: set[str]) -> set[str]:
    """`ids` and, transitively, the checks they depend on (so a skip still says why)."""
    from sanitykit.checks.registry import REGISTRY

    wanted, todo = set(), list(ids)
    while todo:
        check_id = todo.pop()
        if check_id not in wanted:
            wanted.add(check_id)
            spec = REGISTRY.get(check_id)
            todo.extend(spec.depends_on if spec else ())
    return wanted


def pytest_collection_finish(session: pytest.Session) -> None:
    # After -k / -m / --lf: run only what is left of each target (and its dependencies).
    if session.config.stash.get(SETTINGS, None) is None:
        return
    selected: dict[str, set[str]] = {}
    first: dict[str, str] = {}
    for item in session.items:
        if isinstance(item, CheckItem):
            selected.setdefault(item.load_from, set()).add(item.check_id)
            first.setdefault(item.load_from, item.nodeid)
    # The same on every pytest-xdist worker: each collects every item, in the same order.
    session.config.stash[FIRST] = first
    session.config.stash[WANTED] = {loc: with_dependencies(ids) for loc, ids in selected.items()}


# ---------------------------------------------------------------- running and reporting

class CheckFailed(Exception):
    """A check's verdict was fail or error; carries the result for repr_failure."""

    def __init__(self, result, target: str, seed: int):
        super().__init__(result.message)
        self.result, self.target, self.seed = result, target, seed


class TargetUnusable(Exception):
    """sanitykit could not check the target at all; str() is the one-line reason."""


def run_target(config: pytest.Config, location: str):
    """The Report of `location` (or TargetUnusable), computed once per session (or per xdist worker)."""
    reports = config.stash[REPORTS]
    if location not in reports:
        settings = config.stash[SETTINGS]
        from sanitykit.front.loading import TargetError
        from sanitykit.front.runner import check

        wanted = config.stash.get(WANTED, {}).get(location)
        try:
            reports[location] = check(location, suites=settings.suites or None,
                                      only=sorted(wanted) if wanted else settings.only or None,
                                      seed=settings.seed, timeout=settings.timeout)
        except TargetError as exc:
            reports[location] = TargetUnusable(f"sanitykit could not load the target: {exc}")
        except Exception as exc:  # noqa: BLE001 - shown once per item, with where it came from
            reports[location] = TargetUnusable(
                f"internal error in sanitykit while checking {location}: {exc!r}\n"
                + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    return reports[location]


class CheckItem(pytest.Item):
    """One check of the catalogue against one target."""

    def __init__(self, *, load_from: str, spec, **kwargs):
        super().__init__(**kwargs)
        self.load_from = load_from  # what the runner loads (`location` is pytest's)
        self.check_id = spec.id
        self.subject = spec.subject
        self.add_marker("sanitykit")  # `-m sanitykit` / `-m "not sanitykit"`
        self.user_properties.append(("subject", spec.subject))

    def runtest(self) -> None:
        from sanitykit.engine.results import ERROR, FAIL, SKIP, WARN

        report = run_target(self.config, self.load_from)
        if isinstance(report, TargetUnusable):
            # One failure per target, not one per check: the target's first selected item.
            first = self.config.stash.get(FIRST, {}).get(self.load_from, self.nodeid)
            if first == self.nodeid:
                raise report
            raise pytest.skip.Exception(f"not checked: {str(report).splitlines()[0]} (see {first})",
                                        _use_item_location=True)
        try:
            result = report.by_id(self.check_id)
        except KeyError:
            pytest.skip(f"{self.check_id} was not run for {report.target}")
        self.user_properties.append(("status", result.status))
        if result.status == SKIP:
            # Reported at the item (the target), not at this line of the plugin.
            raise pytest.skip.Exception(result.message or "skipped", _use_item_location=True)
        if result.status == WARN:
            from sanitykit.front.render.text import diagnosis_text

            # Located at the target, not at this line of the plugin.
            warnings.warn_explicit(SanitykitWarning(
                f"{self.check_id} [{self.name_of_target}]: "
                + diagnosis_text(result, report.target, report.seed)),
                SanitykitWarning, filename=self.load_from, lineno=0)
        if result.status in (FAIL, ERROR):
            raise CheckFailed(result, report.target, report.seed)

    @property
    def name_of_target(self) -> str:
        return self.parent.name

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CheckFailed):
            return failure_repr(excinfo.value, self.load_from)
        if isinstance(excinfo.value, SanitykitWarning):  # -W error / filterwarnings = error
            text = str(excinfo.value)
            return text_repr("warning: " + text.split(": ", 1)[-1].splitlines()[0],
                             "WARN " + text, self.load_from)
        if isinstance(excinfo.value, TargetUnusable):
            text = str(excinfo.value)
            return text_repr(text.splitlines()[0], text, self.load_from)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        # Line 0: pytest needs a number to place skips; the target is the place, not a line.
        target = Path(self.load_from)
        return (target if target.exists() else self.path), 0, f"{self.check_id} [{self.name_of_target}]"


def failure_repr(failure: CheckFailed, location: str):
    """The diagnosis as pytest's failure text; its first line is the short-summary message."""
    from sanitykit.front.render.text import diagnosis_text

    result = failure.result
    word = "FAIL" if result.status == "fail" else "ERROR"
    text = (f"{word} {result.id} ({result.subject}): {result.title}\n"
            + diagnosis_text(result, failure.target, failure.seed))
    headline = (result.message.strip().splitlines() or [result.title])[0]
    return text_repr(headline if result.status == "fail" else f"error: {headline}", text, location)


def text_repr(headline: str, text: str, location: str):
    """A failure representation made of plain lines.

    Built from pytest's own exception-repr classes (not a bare string) so that the
    headline shows in the short summary (`-rA`) and in JUnit's message attribute, and
    so that pytest-xdist can ship it from a worker unchanged.
    """
    from _pytest._code.code import (ReprEntryNative, ReprExceptionInfo, ReprFileLocation,
                                    ReprTraceback)

    lines = [line + "\n" for line in text.splitlines()]
    return ReprExceptionInfo(reprtraceback=ReprTraceback([ReprEntryNative(lines)], None, "native"),
                             reprcrash=ReprFileLocation(location, 0, headline))


# ---------------------------------------------------------------- helpers for hand-written tests

class GradcheckHelpers:
    """The assert helpers with a test's marker seed/mode applied: call it like
    assert_gradients_match; `.loss(...)` and `.model(...)` for losses and models."""

    def __init__(self, options: dict[str, Any]):
        self.options = options

    def __call__(self, forward, backward, *inputs, **kw):
        __tracebackhide__ = True
        from sanitykit.engine.gradcheck import assert_gradients_match

        return assert_gradients_match(forward, backward, *inputs, **{**self.options, **kw})

    def loss(self, loss_fn, x, *args, **kw):
        __tracebackhide__ = True
        from sanitykit.engine.gradcheck import assert_loss_gradient_matches

        return assert_loss_gradient_matches(loss_fn, x, *args, **{**self.options, **kw})

    def model(self, model, X, y, **kw):
        __tracebackhide__ = True
        from sanitykit.engine.gradcheck import assert_model_gradients_match

        return assert_model_gradients_match(model, X, y, **{**self.options, **kw})

    def __repr__(self) -> str:
        return f"GradcheckHelpers({self.options})"


@pytest.fixture
def sanitykit_gradcheck(request: pytest.FixtureRequest) -> GradcheckHelpers:
    """assert_gradients_match with the seed and mode of the test's @pytest.mark.sanitykit.

    `sanitykit_gradcheck(affine_forward, affine_backward, x, w, b)` raises AssertionError
    carrying the diagnosis; `.loss(softmax_loss, x, y)` and `.model(model, X, y)` likewise.
    """
    return GradcheckHelpers(marker_options(request.node))


def __getattr__(name: str):
    # `from sanitykit.front.pytest_plugin import assert_gradients_match`, without importing
    # numpy when pytest loads the plugin.
    if name in ASSERT_HELPERS:
        from sanitykit.engine import gradcheck

        return getattr(gradcheck, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

