"""The check catalogue: each check declared once, beside its function.

A check is a function `fn(ctx: CheckContext) -> Outcome`, registered with
`@check("suite.topic.aspect", subject=..., title=..., depends_on=..., needs=...)`.
The catalogue is data: listing it imports no student code. The runner (in
sanitykit.front) decides order, skips, timeouts and turns exceptions into
statuses; a check only computes and returns.
"""
from __future__ import annotations

import contextlib
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol

import numpy as np

from sanitykit.engine.findings import Reason
from sanitykit.engine.results import CheckResult, Outcome

# Assignment 2's suites, then assignment 1's (linear, knn) and 3's (rnn; models holds the
# captioning RNN too). Checks run in declaration order: checks/captioning.py imports rnn first.
SUITES = ("layers", "losses", "optim", "models", "training", "linear", "knn", "rnn")
# The suites whose earlier results a suite's checks read (blame where it belongs: a model check
# is skipped when it fails only because of a failed layer). A check runs alone after them.
# An entry may name one topic ("models.fc_net"): training reads only models.fc_net.init (a zero
# init reported once), so a pytest-xdist worker running it need not check the conv net first.
SUITE_READS = {"layers": ("layers",), "models": ("layers", "losses", "rnn"),
               "training": ("layers", "losses", "optim", "models.fc_net"),
               "linear": ("linear",), "knn": ("knn",), "rnn": ("layers", "rnn")}


class SkipCheck(Exception):
    """Raised inside a check when it cannot apply; carries the reason as data.

    Args:
        message: why, in words ("FullyConnectedNet has no layernorm option").
        kind: the reason's kind: "not_applicable" (default) or "missing".
        responsible: the names concerned (the missing function).
    """

    def __init__(self, message: str, *, kind: str = "not_applicable", responsible: tuple[str, ...] = ()):
        super().__init__(message)
        self.reason = Reason(kind, responsible, note=message)


class Target(Protocol):
    """Everything the runner, the checks and grading ask of the code under test.

    Built by sanitykit.front.loading (LoadedTarget) or made of plain objects (DictTarget).
    """

    name: str
    conventions: dict[str, Any]

    def get(self, name: str) -> Any | None:
        """The user's object under its conventional name (after the name map), or None."""

    def problem_for(self, name: str) -> str | None:
        """One line when `name` is absent because its module failed to import."""

    def absent_note(self, name: str) -> str | None:
        """Why `name` is not checked when sanitykit's stand-in takes its place, else None."""

    def owns_file(self, filename: str) -> bool:
        """True when `filename` is one of the user's source files (a traceback's blame)."""

    def swapped(self, replacements: dict[str, Any]) -> contextlib.AbstractContextManager:
        """Temporarily bind `replacements` (name -> object) in every user module that uses them."""

    def imports_active(self) -> contextlib.AbstractContextManager:
        """Let the user's code import its own modules while a check runs."""

    def loading_info(self) -> dict[str, Any]:
        """The report's `loading` block: how the target was read."""

    def close(self) -> None:
        """Forget whatever loading the target left behind (private modules)."""


@dataclass
class DictTarget:
    """A target made of plain objects: the reference itself, or functions in a test."""

    objects: dict[str, Any]
    name: str = "<objects>"
    conventions: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_modules(cls, *modules: Any, name: str = "") -> "DictTarget":
        objects: dict[str, Any] = {}
        for module in modules:
            objects.update({k: v for k, v in vars(module).items() if not k.startswith("_")})
        return cls(objects, name=name or ", ".join(m.__name__ for m in modules))

    def get(self, name: str) -> Any | None:
        return self.objects.get(name)

    def problem_for(self, name: str) -> str | None:
        return None

    def absent_note(self, name: str) -> str | None:
        return None

    def owns_file(self, filename: str) -> bool:
        return False

    @contextlib.contextmanager
    def swapped(self, replacements: dict[str, Any]) -> Iterator[None]:
        saved = dict(self.objects)
        self.objects.update(replacements)
        try:
            yield
        finally:
            self.objects.clear()
            self.objects.update(saved)

    def imports_active(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def loading_info(self) -> dict[str, Any]:
        return {"conventions": dict(self.conventions), "substitutions": [], "shims": [], "problems": []}

    def close(self) -> None:
        pass


@dataclass
class CheckContext:
    """Everything a check function receives."""

    target: Target
    seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    # Results of the checks already run, by id: model checks use them to tell a
    # layer's bug apart from a model's (blame where it belongs).
    results: dict[str, CheckResult] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A fresh generator per check: results never depend on check order.
        self.rng = np.random.default_rng(self.seed)

    def fn(self, name: str) -> Any:
        """The user's object `name`; SkipCheck when the target has none."""
        obj = self.target.get(name)
        if obj is None:
            raise SkipCheck(f"{name} not found in the target", kind="missing", responsible=(name,))
        return obj

    def has(self, name: str) -> bool:
        return self.target.get(name) is not None

    @staticmethod
    def ref(name: str) -> Any:
        """The reference implementation of `name` (sanitykit.reference)."""
        import sanitykit.reference as reference

        return getattr(reference, name)

    @property
    def conventions(self) -> dict[str, Any]:
        return self.target.conventions


@dataclass(frozen=True)
class CheckSpec:
    """One declared check. `needs` lists the conventional names it calls; a missing one means skip.

    `reads` lists earlier checks of its own suite, other topics, whose results it reads (beyond
    what sanitykit.front.session.prerequisites assumes), so that it can run alone.
    """

    id: str
    subject: str
    title: str
    func: Callable[[CheckContext], Outcome]
    depends_on: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()

    @property
    def suite(self) -> str:
        return self.id.split(".")[0]

    @property
    def topic(self) -> str:
        return self.id.split(".")[1]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "suite": self.suite, "subject": self.subject, "title": self.title,
                "depends_on": list(self.depends_on), "needs": list(self.needs), "reads": list(self.reads)}


REGISTRY: dict[str, CheckSpec] = {}


def check(id: str, *, subject: str, title: str, depends_on: tuple[str, ...] = (),
          needs: tuple[str, ...] | None = None, reads: tuple[str, ...] = ()) -> Callable:
    """Declare a check. Ids are API (rubrics key on them): `suite.topic.aspect`, never renamed.

    Args:
        id: "suite.topic.aspect", lower case.
        subject: the user's function or class under test.
        title: what passing means, in a few words.
        depends_on: ids that must not fail/error/skip first (else this one is skipped).
        needs: conventional names the check calls (default: (subject,)).
        reads: earlier checks of other topics whose results it reads (see CheckSpec).
    """
    parts = id.split(".")
    if len(parts) != 3 or parts[0] not in SUITES or id != id.lower():
        raise ValueError(f"check id {id!r} must be suite.topic.aspect with suite in {SUITES}")

    def register(func: Callable[[CheckContext], Outcome]) -> Callable[[CheckContext], Outcome]:
        if id in REGISTRY:
            raise ValueError(f"check id {id!r} declared twice")
        REGISTRY[id] = CheckSpec(id, subject, title, func, tuple(depends_on),
                                 tuple(needs) if needs is not None else (subject,), tuple(reads))
        return func

    return register


def catalogue(suites: tuple[str, ...] | list[str] | None = None) -> list[CheckSpec]:
    """All declared checks in declaration order, optionally restricted to `suites`."""
    for suite in SUITES:
        with contextlib.suppress(ModuleNotFoundError):
            importlib.import_module(f"sanitykit.checks.{suite}")
    wanted = set(suites) if suites else set(SUITES)
    unknown = wanted - set(SUITES)
    if unknown:
        raise ValueError(f"unknown suite(s) {sorted(unknown)}; choose from {', '.join(SUITES)}")
    ordered = sorted(enumerate(REGISTRY.values()), key=lambda item: (_module_rank(item[1]), item[0]))
    return [spec for _, spec in ordered if spec.suite in wanted]


# The order checks run and are listed in, by the module that declares them: whatever module
# a caller happened to import first (a test importing checks.rnn), the catalogue is the same.
# rnn comes before captioning, whose checks are blamed on a failed rnn layer.
MODULE_ORDER = ("layers", "losses", "optim", "models", "rnn", "captioning", "neural_net", "training", "linear", "knn")


def _module_rank(spec: CheckSpec) -> int:
    module = str(getattr(spec.func, "__module__", "")).rsplit(".", 1)[-1]
    return MODULE_ORDER.index(module) if module in MODULE_ORDER else len(MODULE_ORDER)
