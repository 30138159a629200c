"""pytest plugin: sanitykit's checks as test items, and helpers for hand-written tests.

`pytest --sanitykit cs231n` adds one item per check of the catalogue, named
`sanitykit::cs231n::layers.affine.gradcheck`: skip -> skipped with the reason, warn ->
passed with a SanitykitWarning, fail/error -> failed with the diagnosis as the failure
text, located at the user's function (its file and line). Each item runs its own check,
after what that check reads (sanitykit.front.session), once per target and pytest process,
in a supervised worker process (`--sanitykit-in-process`: in pytest's own, for pdb); so
`--durations`, JUnit times, `-x`, `--lf` and pytest-xdist's `-n` see the work where it is
done. Items come from the catalogue, not from results, so every xdist worker collects the
same list. A target that cannot be loaded is one collection error.

Targets come from `--sanitykit`, else the SANITYKIT_TARGET environment variable, else the
`sanitykit_targets` ini key; the ini key adds no items when test files are named on the
command line (`pytest tests/test_mine.py` runs just those). Installed but not asked for, the
plugin adds no items and no output; it imports nothing heavy until a hook needs it.
"""
from __future__ import annotations

import fnmatch
import inspect
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# ---------------------------------------------------------------- options

TARGET_ENV = "SANITYKIT_TARGET"  # one target, or several separated by os.pathsep
TARGETS_HELP = ("run sanitykit's checks against TARGET (a .py file, a folder or a dotted "
                f"module) as test items; repeatable. Default: ${TARGET_ENV}, else the "
                "sanitykit_targets ini key (which adds nothing when test files are named)")
SUITES_HELP = ("only these suites (layers, losses, optim, models, training, linear, knn, rnn); "
               "repeatable or comma-separated")
ONLY_HELP = "only checks whose id matches this glob, e.g. 'layers.affine.*'; repeatable"
SEED_HELP = "seed of every check's random inputs (default 0)"
TIMEOUT_HELP = "time limit of one check in seconds (default 30)"
IN_PROCESS_HELP = ("run the checks in pytest's own process instead of a supervised worker "
                   "(for pdb; a crash or a hang of your code then stops pytest too)")
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
    group.addoption("--sanitykit-in-process", dest="sanitykit_in_process", action="store_true",
                    default=False, help=IN_PROCESS_HELP)
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
        in_process: run the checks in this process (default: a supervised worker per target).
    """

    targets: dict[str, str]
    suites: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    seed: int = DEFAULT_SEED
    timeout: float = DEFAULT_TIMEOUT
    in_process: bool = False


SETTINGS = pytest.StashKey[Settings]()
SESSIONS = pytest.StashKey[dict]()  # target location -> its CheckSession, in this process
# Set by the controller for its pytest-xdist workers, whose own command line always names paths.
EXPLICIT_KEY = "sanitykit_explicit_paths"


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


def named_test_paths(config: pytest.Config) -> bool:
    """True when test files or folders were named on the command line (`pytest tests/test_x.py`)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return bool(workerinput.get(EXPLICIT_KEY))
    return config.args_source == pytest.Config.ArgsSource.ARGS


def asked_targets(config: pytest.Config) -> tuple[list[str], Any]:
    """(targets, the folder they are relative to): --sanitykit, else $SANITYKIT_TARGET, else the
    ini key unless test paths were named."""
    if config.getoption("sanitykit_targets"):
        return config.getoption("sanitykit_targets"), config.invocation_params.dir
    from_env = [t for t in os.environ.get(TARGET_ENV, "").split(os.pathsep) if t.strip()]
    if from_env:
        return from_env, config.invocation_params.dir
    if named_test_paths(config):
        return [], None
    return config.getini("sanitykit_targets"), config.inipath.parent if config.inipath else config.rootpath


def resolve_settings(config: pytest.Config) -> Settings | None:
    """Settings when sanitykit was asked for (see asked_targets), else None."""
    names, base = asked_targets(config)
    targets = {t: located(t, base) for t in names}
    if not targets:
        return None
    suites = split_words(config.getoption("sanitykit_suites") or config.getini("sanitykit_suites"))
    only = split_words(config.getoption("sanitykit_only") or config.getini("sanitykit_only"))
    return Settings(targets, suites, only, number_setting(config, "sanitykit_seed", int, DEFAULT_SEED),
                    number_setting(config, "sanitykit_timeout", float, DEFAULT_TIMEOUT),
                    bool(config.getoption("sanitykit_in_process")))


@pytest.hookimpl(optionalhook=True)  # a pytest-xdist hook, on the controller
def pytest_configure_node(node: Any) -> None:
    node.workerinput[EXPLICIT_KEY] = named_test_paths(node.config)


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
    config.stash[SESSIONS] = {}


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


def open_check_session(location: str, settings: Settings):
    """The session of one target: a supervised worker process, or this process with
    --sanitykit-in-process (pdb; TargetError when the target cannot be loaded)."""
    from sanitykit.front.session import open_session

    return open_session(location, seed=settings.seed, timeout=settings.timeout,
                        isolation="in-process" if settings.in_process else "worker")


def definitions(location: str) -> dict[str, tuple[Path, int]]:
    """name -> (file, 1-based line) of each top-level def and class in the target's files, after
    its name map; read with `ast`, without importing the user's code (it runs in a worker)."""
    import ast

    from sanitykit.front.layout import resolve_layout
    from sanitykit.front.name_map import read_name_map

    try:
        layout = resolve_layout(location)
        name_map = read_name_map(layout.config_dirs)[0]
    except Exception:  # noqa: BLE001 - a dotted module name, an unreadable pyproject: no places
        return {}
    found: dict[str, tuple[Path, int]] = {}
    for _, path in layout.modules:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except (SyntaxError, ValueError, OSError):  # Python 2, a broken file: placed at the target
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.setdefault(node.name, (path, node.lineno))
    return {ours: found[theirs] for ours, theirs in {**{n: n for n in found}, **name_map}.items() if theirs in found}


class TargetNode(pytest.Collector):
    """`sanitykit::<target>`: loads the target (once per process) and has one item per selected check."""

    def __init__(self, *, load_from: str, specs: list, **kwargs):
        super().__init__(**kwargs)
        self.load_from, self.specs = load_from, specs

    def collect(self):
        from sanitykit.front.target import TargetError

        sessions = self.config.stash[SESSIONS]
        if self.load_from not in sessions:
            try:
                sessions[self.load_from] = open_check_session(self.load_from, self.config.stash[SETTINGS])
            except TargetError as exc:
                # One collection error for the target (pytest's exit code 2), not one per check.
                raise self.CollectError(f"sanitykit could not load the target {self.name}: {exc}") from None
        target = getattr(sessions[self.load_from], "target", None)  # in this process: exact places
        places = {} if target is not None else definitions(self.load_from)
        return [CheckItem.from_parent(self, name=spec.id, load_from=self.load_from, spec=spec,
                                      place=defined_at(target.get(spec.subject)) if target is not None
                                      else places.get(spec.subject))
                for spec in self.specs]

    @property
    def check_session(self):
        return self.config.stash[SESSIONS][self.load_from]


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


def pytest_sessionfinish(session: pytest.Session) -> None:
    for check_session in session.config.stash.get(SESSIONS, {}).values():
        check_session.close()


# ---------------------------------------------------------------- running and reporting

class CheckFailed(Exception):
    """A check's verdict was fail or error; carries the result for repr_failure."""

    def __init__(self, result, target: str, seed: int):
        super().__init__(result.message)
        self.result, self.target, self.seed = result, target, seed


def defined_at(obj: Any) -> tuple[str, int] | None:
    """(file, 1-based line) where the user's function or class is defined, or None."""
    try:
        obj = inspect.unwrap(obj)
        return inspect.getsourcefile(obj), inspect.getsourcelines(obj)[1]
    except Exception:  # noqa: BLE001 - a builtin, a lambda in a REPL, a broken object: no place
        return None


class CheckItem(pytest.Item):
    """One check of the catalogue against one target, located at the function it checks."""

    def __init__(self, *, load_from: str, spec, place: tuple[Any, int] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.load_from = load_from  # what the runner loads (`location` is pytest's)
        self.check_id = spec.id
        self.subject = spec.subject
        self.add_marker("sanitykit")  # `-m sanitykit` / `-m "not sanitykit"`
        target_path = Path(load_from)
        # pytest's lines are 0-based; a target with no such function is placed at the target.
        self.place = (Path(place[0]), place[1] - 1) if place and place[0] else \
            ((target_path if target_path.exists() else self.path), 0)
        if junit_family(self.config) == "xunit1":  # xunit2's schema has no <properties> in a testcase
            self.user_properties.append(("subject", spec.subject))

    def runtest(self) -> None:
        from sanitykit.engine.results import ERROR, FAIL, SKIP, WARN

        check_session = self.parent.check_session
        result = check_session.run(self.check_id)
        if junit_family(self.config) == "xunit1":
            self.user_properties.append(("status", result.status))
        if result.status == SKIP:
            # Reported at the item (the user's function), not at this line of the plugin.
            raise pytest.skip.Exception(result.message or "skipped", _use_item_location=True)
        target, seed = self.name_of_target, check_session.seed
        if result.status == WARN:
            from sanitykit.front.render.text import diagnosis_text

            warnings.warn_explicit(SanitykitWarning(
                f"{self.check_id} [{self.name_of_target}]: " + diagnosis_text(result, target, seed)),
                SanitykitWarning, filename=str(self.place[0]), lineno=self.place[1] + 1)
        if result.status in (FAIL, ERROR):
            raise CheckFailed(result, target, seed)

    @property
    def name_of_target(self) -> str:
        return self.parent.name

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CheckFailed):
            return failure_repr(excinfo.value, self.place, self.load_from)
        if isinstance(excinfo.value, SanitykitWarning):  # -W error / filterwarnings = error
            text = str(excinfo.value)
            return text_repr("warning: " + text.split(": ", 1)[-1].splitlines()[0],
                             "WARN " + text, self.place)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.place[0], self.place[1], f"{self.check_id} [{self.name_of_target}]"


def junit_family(config: pytest.Config) -> str:
    try:
        return config.getini("junit_family")
    except ValueError:  # -p no:junitxml
        return ""


def rerun_in_pytest(location: str, check_id: str, seed: int) -> str:
    """The pytest command that reruns one check item."""
    import shlex

    return f"pytest --sanitykit {shlex.quote(location)} --sanitykit-only '{check_id}' --sanitykit-seed {seed}"


def failure_repr(failure: CheckFailed, place: tuple[Path, int], location: str):
    """The diagnosis as pytest's failure text; its first line is the short-summary message."""
    from sanitykit.front.render.text import diagnosis_text

    result = failure.result
    word = "FAIL" if result.status == "fail" else "ERROR"
    text = (f"{word} {result.id} ({result.subject}): {result.title}\n"
            + diagnosis_text(result, failure.target, failure.seed)
            + "\n   or: " + rerun_in_pytest(location, result.id, failure.seed))
    headline = (result.message.strip().splitlines() or [result.title])[0]
    return text_repr(headline if result.status == "fail" else f"error: {headline}", text, place)


def text_repr(headline: str, text: str, place: tuple[Path, int]):
    """A failure representation made of plain lines, ending at the user's file and line.

    Built from pytest's own exception-repr classes (not a bare string) so that the
    headline shows in the short summary (`-rA`) and in JUnit's message attribute, and
    so that pytest-xdist can ship it from a worker unchanged.
    """
    from _pytest._code.code import (ReprEntryNative, ReprExceptionInfo, ReprFileLocation,
                                    ReprTraceback)

    lines = [line + "\n" for line in text.splitlines()]
    path = os.path.relpath(place[0]) if os.path.isabs(place[0]) else str(place[0])
    return ReprExceptionInfo(reprtraceback=ReprTraceback([ReprEntryNative(lines)], None, "native"),
                             reprcrash=ReprFileLocation(path, place[1] + 1, headline))


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

