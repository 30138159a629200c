"""The terminal report: rich renderables built at the last moment, and a plain-text twin.

`Report.__rich_console__` calls `render_report_rich`; `render_text` renders the same
view without colour at a fixed width (tests, the pytest plugin). The plain helpers
(`rerun_command`, `diagnosis_text`, `summary_line`) are shared with the other renderers.
A renderer never decides a verdict: it only reads the report.
"""
from __future__ import annotations

import dataclasses
import io
import posixpath
import re
import shlex
import textwrap
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from rich.console import Console, ConsoleOptions, RenderableType
from rich.style import Style
from rich.text import Text

from sanitykit import __version__
from sanitykit.engine.results import ERROR, FAIL, PASS, SKIP, WARN, CheckResult
from sanitykit.engine.theme import ASCII_GLYPHS, DEFAULT_STYLES, GLYPHS, WORDS, status_style

# Checks below this many columns of title lose their subject column (it is repeated
# in the diagnosis of every failure anyway).
MIN_TITLE_WIDTH = 20
# Below this many columns a title is clipped rather than wrapped into a column of single words.
MIN_WRAP_WIDTH = 12
# This many skips of one suite sharing a reason fold into a single line.
FOLD_SKIPS_AT = 3
STATUS_WIDTH = 2 + 1 + 1 + 5 + 2   # indent, glyph, space, word, gap
DURATION_WIDTH = 8
HINT_HANG = len("hint: ")  # a hint's continuation lines start under its first word
SUMMARY_WORDS = ((PASS, "passed"), (WARN, "warned"), (FAIL, "failed"), (ERROR, "errors"),
                 (SKIP, "skipped"))
# How much of the first line the user's code printed is quoted in the header's note.
PRINTED_EXCERPT = 40
# The report labels of namespace targets (sanitykit.front.namespace) -> what to pass sk.check.
NAMESPACE_RERUN = {"<globals()>": "globals()", "<namespace>": "namespace"}


# ---------------------------------------------------------------- student text made safe

# C0 and C1 control characters (ESC starts every ANSI sequence; CR rewrites the line), DEL, and
# the bidirectional overrides that reorder what a terminal shows. Tab and newline are layout.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """`text` with every control character spelled out (`\\x1b[31m`, `\\r`): a student's exception
    message or file name can then colour, clear or retitle no one's terminal. Idempotent."""
    return _UNSAFE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text))


def printable_data(value: Any) -> Any:
    """`value` (the report's loading block) with every string in it made printable."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable_data(k): printable_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable_data(v) for v in value]
    return value


def printable_report(report):
    """The report as the terminal may show it: the text of every check, its target and loading made
    printable once, before anything is laid out (widths are measured on what is shown)."""
    checks = [dataclasses.replace(r, id=printable(r.id), subject=printable(r.subject),
                                  title=printable(r.title), message=printable(r.message),
                                  hint=printable(r.hint)) for r in report.checks]
    return dataclasses.replace(report, target=printable(report.target), checks=checks,
                               loading=printable_data(report.loading))


# ---------------------------------------------------------------- plain helpers

def rerun_command(target: str, check_id: str, seed: int) -> str:
    """The command that reruns one check, e.g. `sanitykit check cs231n --only 'x.y.z' --seed 0`.

    A notebook's namespace has no command line: its rerun is the Python call.
    """
    if str(target) in NAMESPACE_RERUN:
        return f"sk.check({NAMESPACE_RERUN[str(target)]}, only='{check_id}', seed={seed})"
    return f"sanitykit check {shlex.quote(str(target))} --only '{check_id}' --seed {seed}"


def message_lines(result: CheckResult) -> list[str]:
    return printable(result.message).splitlines() if result.message else []


def hint_lines(result: CheckResult) -> list[str]:
    """The hint, its first line led by "hint: " and the others indented under it."""
    return [("hint: " if i == 0 else "      ") + line
            for i, line in enumerate(printable(result.hint).splitlines() if result.hint else [])]


def diagnosis_lines(result: CheckResult, target: str, seed: int) -> list[str]:
    """Message lines, hint lines ("hint: ..."), then the rerun line; line breaks kept.

    Args:
        result: the check (usually warn, fail or error).
        target: the report's target, for the rerun line.
        seed: the report's seed, for the rerun line.
    """
    return [*message_lines(result), *hint_lines(result),
            "rerun: " + printable(rerun_command(target, result.id, seed))]


def diagnosis_text(result: CheckResult, target: str, seed: int) -> str:
    """`diagnosis_lines` joined by newlines (JUnit failure text, pytest failure text)."""
    return "\n".join(diagnosis_lines(result, target, seed))


# An index such as dw[4, 1] or out[:, 2] is one word to a reader: never broken across lines.
_INDEX = re.compile(r"\w+\[[^\[\]]*\]")
_GLUE = "\x00"


def wrap_line(line: str, width: int, hang: int = 0) -> list[str]:
    """`line` wrapped at `width`, continuation lines under its own indent (at least `hang`); indices kept whole."""
    indent = " " * max(len(line) - len(line.lstrip(" ")), hang)
    glued = _INDEX.sub(lambda m: m.group(0).replace(" ", _GLUE), line)
    pieces = textwrap.wrap(glued, width=max(width, len(indent) + 20), subsequent_indent=indent,
                           break_long_words=False, break_on_hyphens=False, drop_whitespace=True) or [""]
    return [piece.replace(_GLUE, " ").rstrip() for piece in pieces]


def summary_line(summary: dict[str, int]) -> str:
    """"12 passed, 1 warned, 3 failed, 0 errors, 4 skipped" (every status, always)."""
    return ", ".join(counted(summary.get(status, 0), word) for status, word in SUMMARY_WORDS)


def counted(count: int, word: str) -> str:
    """"3 failed", "1 error", "0 errors" (only "errors" is a noun that takes a plural)."""
    return f"{count} {word[:-1] if word == 'errors' and count == 1 else word}"


def describe_loading_item(item: Any) -> str:
    """One line for an entry of report.loading (a problem, substitution or shim)."""
    if isinstance(item, dict):
        if "file" in item or "message" in item:
            where = ":".join(str(item[k]) for k in ("file", "line") if item.get(k) not in (None, ""))
            what = str(item.get("message", ""))
            return printable(f"{where}: {what}" if where and what else where or what)
        return printable(", ".join(f"{k}={v}" for k, v in item.items()))
    return printable(str(item))


def problem_groups(problems: Iterable[dict[str, Any]]) -> list[tuple[dict[str, Any], list[str]]]:
    """Import problems by the file that failed: (its problem, the modules that failed only because
    they import it). A `sys.exit` in layers.py is one line, not one per module importing it."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for problem in problems:
        groups.setdefault((problem.get("file"), problem.get("line"), problem.get("message")), []).append(problem)
    found = []
    for group in groups.values():
        head = next((p for p in group if not p.get("imported_by")), group[0])
        found.append((head, [str(p["module"]) for p in group if p.get("imported_by")]))
    return found


def describe_problem_group(head: dict[str, Any], importers: list[str]) -> str:
    """`cs231n/layers.py:3: called sys.exit(1) at import; so neither could cs231n.layer_utils, ... (they import it)`."""
    line = describe_loading_item(head)
    if importers:
        line += printable(f"; so neither could {', '.join(importers)}, which import it")
    return line


def describe_candidates(candidates: dict[str, Any], target: str) -> str:
    """Several course packages in the target folder: which was checked, and how to choose another."""
    found = [str(c) for c in candidates.get("found", [])]
    chosen = str(candidates.get("chosen", found[0] if found else ""))
    listed = ", ".join(f"{c} (checked)" if c == chosen else c for c in found)
    other = next((c for c in found if c != chosen), "")
    folder = posixpath.dirname(other) if other else ""
    how = f"sanitykit check {shlex.quote(posixpath.join(str(target), folder))}" if target and folder else \
        "sanitykit check path/to/the/one"
    return printable(f"{len(found)} course packages in this folder: {listed}; to check another, name it: {how}")


def amount_printed(characters: int) -> str:
    """`17 characters`, `12.3 KB`, `50.0 MB` (of text a student's code printed)."""
    if characters < 1000:
        return f"{characters} character{'s' * (characters != 1)}"
    if characters < 2 ** 20:
        return f"{characters / 2 ** 10:.1f} KB"
    return f"{characters / 2 ** 20:.1f} MB"


def printed_at_import_line(printed: dict[str, Any]) -> str:
    """`50.0 MB at import; first lines: 'epoch 1', ...` from loading.printed_at_import."""
    first = [f"'{line}'" for line in printed.get("first_lines", [])]
    lines = f"; first lines: {', '.join(first)}" if first else ""
    return printable(f"{amount_printed(int(printed.get('characters', 0)))} at import{lines}")


def loading_lines(loading: dict[str, Any], target: str = "") -> list[tuple[str, list[str]]]:
    """(label, lines) for each non-empty part of report.loading, in DESIGN.md order.

    Args:
        loading: report.loading.
        target: the report's target, for the command that chooses between several packages.
    """
    parts = []
    if loading.get("candidates"):  # attempt1/cs231n, attempt2/cs231n: say which, before anything else
        parts.append(("warning", [describe_candidates(loading["candidates"], target)]))
    if loading.get("source"):  # how the target was resolved: "cs231n/ from assignment2/"
        parts.append(("loaded", [str(loading["source"])]))
    if loading.get("name_map"):  # --map or [tool.sanitykit.map]: which of their names is which
        where = f" (from {loading['name_map_source']})" if loading.get("name_map_source") else ""
        pairs = ", ".join(f"{ours}={theirs}" for ours, theirs in loading["name_map"].items())
        parts.append(("name map", [pairs + where]))
    conventions = loading.get("conventions") or {}
    if loading.get("conventions_text"):  # the measured conventions, in words
        parts.append(("conventions", [str(loading["conventions_text"])]))
    elif conventions:
        parts.append(("conventions", [", ".join(f"{k}={v}" for k, v in conventions.items())]))
    problems = loading.get("problems") or []
    failed = [describe_problem_group(*group) for group in problem_groups(p for p in problems if not is_note(p))]
    described = lambda items: [describe_loading_item(item) for item in items]  # noqa: E731
    for label, lines in (("substituted", described(loading.get("substitutions") or [])),
                         ("shims", described(loading.get("shims") or [])),
                         ("put back", described(loading.get("numpy_restored") or [])),
                         ("could not import", failed),
                         # A helper file that needs a package missing here (imageio, h5py)
                         # and defines nothing sanitykit checks: said, but not alarming.
                         ("not checked", described(p for p in problems if is_note(p)))):
        if lines:
            parts.append((label, lines))
    if loading.get("printed_at_import"):  # a print left at the top of layers.py
        parts.append(("printed", [printed_at_import_line(loading["printed_at_import"])]))
    return parts


def is_note(problem: Any) -> bool:
    """A loading problem that affects no checked name (the loader marks it "note": true)."""
    return isinstance(problem, dict) and bool(problem.get("note"))


def printed_note(checks: Iterable[CheckResult]) -> str:
    """One line on what the user's code printed during the checks, or '' when it printed nothing.

    `your code printed during 24 checks (first in relu_backward: 'relu_backward (4, 5) (4, 5)');
    --format json keeps it in details.printed` — a forgotten debugging print is worth knowing
    about, and its output would otherwise only be in the JSON.
    """
    printed = [r for r in checks if (r.details or {}).get("printed")]
    if not printed:
        return ""
    first = printed[0]
    lines = [line.strip() for line in str(first.details["printed"]).splitlines() if line.strip()]
    excerpt = lines[0] if lines else ""
    if len(excerpt) > PRINTED_EXCERPT:
        excerpt = excerpt[:PRINTED_EXCERPT - 3] + "..."
    where = f"first in {first.subject}: {excerpt!r}" if first.subject else f"first: {excerpt!r}"
    during = "1 check" if len(printed) == 1 else f"{len(printed)} checks"
    return f"your code printed during {during} ({where}); --format json keeps it in details.printed"


def is_generic_skip(result: CheckResult) -> bool:
    """A skip whose reason the row itself tells: the function is not in the target at all."""
    reason = result.reason
    return reason is not None and reason.kind == "missing" and not reason.note


# ---------------------------------------------------------------- grouping

@dataclass(frozen=True)
class Row:
    """One line of the report: a check, or several skips folded under one reason."""

    status: str
    id: str
    subject: str
    text: str           # title ("3 checks" for folded skips)
    duration: str       # "" for skips
    result: CheckResult | None = None   # set when the row has a diagnosis to show
    count: int = 1      # checks this row stands for (folded skips)
    reason: str = ""    # a skip's reason
    generic: bool = False   # the reason is "<name> not found in the target"

    def skip_layout(self, width: int) -> tuple[str, str]:
        """(title column, line under the row) of a skip at a title column of `width`.

        "not found in the target" stays in the title column, shortened to "<name> not found"
        when it must be (the row stays one line); any other reason ("not implemented yet",
        "fails only because of ...", "depends on ...") is read in full on its own line.
        """
        if self.generic:
            prefix = f"{self.text}: " if self.count > 1 else ""
            short = self.reason.removesuffix(" in the target")
            # The id names the layer already: at the narrowest, "3 checks: not found" says enough.
            for inline in (prefix + self.reason, prefix + short, prefix + "not found"):
                if len(inline) <= width:
                    return inline, ""
        return self.text, self.reason


def group_by_suite(checks: Iterable[CheckResult]) -> list[tuple[str, list[CheckResult]]]:
    """Checks grouped by suite, suites in order of first appearance, checks in run order."""
    groups: dict[str, list[CheckResult]] = {}
    for result in checks:
        groups.setdefault(result.suite, []).append(result)
    return list(groups.items())


def folded_id(ids: list[str]) -> str:
    """A glob covering `ids` by their common dotted prefix ("layers.dropout.*")."""
    parts = [i.split(".") for i in ids]
    common = []
    for level in zip(*parts):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return ".".join(common + ["*"])


def skip_key(result: CheckResult) -> Any:
    """What skips must share to fold into one line: their reason (its words when there is none)."""
    return result.reason if result.reason is not None else result.message


def absent_suite(results: list[CheckResult]) -> Row | None:
    """One row for a suite the target has nothing of (assignment 3's rnn in an assignment 2 tree), else None.

    Several functions, every check skipped as not found: the course's other assignments, one line each.
    """
    if len({r.subject for r in results}) < 2 or not all(r.status == SKIP and is_generic_skip(r) for r in results):
        return None
    return Row(SKIP, f"{results[0].suite}.*", "", f"{len(results)} checks", "", count=len(results),
               reason="nothing of this suite in the target", generic=True)


def rows_for_suite(results: list[CheckResult]) -> list[Row]:
    """Rows of one suite: one per check, skips sharing a reason folded at their first place."""
    whole = absent_suite(results)
    if whole is not None:
        return [whole]
    reason_count: dict[Any, int] = {}
    for r in results:
        if r.status == SKIP:
            reason_count[skip_key(r)] = reason_count.get(skip_key(r), 0) + 1
    rows, folded = [], set()
    for r in results:
        # The first line is the reason; what follows (a blamed check's evidence) is in the JSON.
        reason = (r.message or "skipped").splitlines()[0]
        generic = is_generic_skip(r) or not r.message
        key = skip_key(r)
        if r.status == SKIP and reason_count[key] >= FOLD_SKIPS_AT:
            if key not in folded:
                folded.add(key)
                ids = [s.id for s in results if s.status == SKIP and skip_key(s) == key]
                subjects = sorted({s.subject for s in results if s.id in ids})
                rows.append(Row(SKIP, folded_id(ids), ", ".join(subjects), f"{len(ids)} checks", "",
                                count=len(ids), reason=reason, generic=generic))
            continue
        if r.status == SKIP:
            rows.append(Row(SKIP, r.id, r.subject, r.title or "skipped", "", reason=reason,
                            generic=generic))
        else:
            diagnosed = r if r.status in (WARN, FAIL, ERROR) else None
            rows.append(Row(r.status, r.id, r.subject, r.title, f"{r.duration_s:.2f}s", diagnosed))
    return rows


# ---------------------------------------------------------------- layout

@dataclass(frozen=True)
class Columns:
    """Widths of a check line, computed once per report from the console width."""

    id: int
    subject: int      # 0: the subject column is dropped (narrow console)
    title: int

    @classmethod
    def fit(cls, rows: list[Row], width: int) -> "Columns":
        id_w = max((len(r.id) for r in rows), default=0) + 2
        subject_w = max((len(r.subject) for r in rows), default=0) + 2
        title_w = width - STATUS_WIDTH - id_w - subject_w - DURATION_WIDTH
        if title_w < MIN_TITLE_WIDTH:
            subject_w, title_w = 0, title_w + subject_w
        return cls(id_w, subject_w, max(title_w, 0))


def clip(text: str, width: int, ascii_only: bool) -> str:
    """`text` cut to `width` columns with an ellipsis."""
    if len(text) <= width:
        return text
    mark = "..." if ascii_only else "…"
    return text[: max(width - len(mark), 0)] + mark if width > len(mark) else text[:width]


class Styles:
    """Theme style names resolved against the console: the user's theme first, ours second."""

    def __init__(self, console: Console):
        self._console = console

    def __getitem__(self, name: str) -> Style:
        return self._console.get_style(name, default=DEFAULT_STYLES.get(name) or "none")


# ---------------------------------------------------------------- rich view

def render_report_rich(report, console: Console, options: ConsoleOptions) -> Iterator[RenderableType]:
    """Yield the report's renderables: header, checks grouped by suite, summary.

    Args:
        report: a sanitykit.front.report.Report.
        console: the rich console rendering it (for theme styles).
        options: rich's options; max_width and ascii_only are honoured.
    """
    report = printable_report(report)  # before any width is measured
    styles = Styles(console)
    ascii_only = options.ascii_only
    width = options.max_width
    groups = [(suite, rows_for_suite(results)) for suite, results in group_by_suite(report.checks)]
    columns = Columns.fit([row for _, rows in groups for row in rows], width)

    yield from header(report, styles, ascii_only, width)
    if not groups:
        yield Text("no checks ran", style=styles["sanitykit.skip"])
    for suite, rows in groups:
        yield Text("")
        yield suite_heading(suite, rows, styles)
        for row in rows:
            yield check_line(row, columns, styles, ascii_only)
            note = row.skip_layout(columns.title)[1] if row.status == SKIP else ""
            if note:
                yield indented([note], width, styles["sanitykit.skip"])
            if row.result is not None:
                yield from diagnosis(row.result, report.target, report.seed, styles, width)
    yield Text("")
    yield summary(report.summary, styles)


def header(report, styles: Styles, ascii_only: bool, width: int = 100) -> Iterator[Text]:
    dot = " - " if ascii_only else " · "
    yield Text(f"sanitykit {__version__}{dot}{report.target}{dot}seed {report.seed}",
               style=styles["sanitykit.header"])
    for label, lines in loading_lines(report.loading, report.target):
        style = styles["sanitykit.problem"] if label in ("could not import", "warning") else Style.null()
        if len(lines) == 1 and label != "could not import":
            yield hanging(f"{label}: ", lines[0], width, styles["sanitykit.header"], style)
        else:
            yield Text(f"{label}:", style=styles["sanitykit.header"])
            for line in lines:
                yield hanging("  ", line, width, Style.null(), style, indent=4)
    note = printed_note(report.checks)
    if note:
        yield hanging("note: ", note, width, styles["sanitykit.header"], Style.null())


def hanging(label: str, text: str, width: int, label_style: Style | str, style: Style | str,
            indent: int = 2) -> Text:
    """`label` + `text` wrapped at `width`, continuation lines indented by `indent` (a hanging indent).

    Rich would wrap at column 0, so a long convention or shim line would lose its place under
    its label; words are never broken (a long path stays whole).
    """
    lines = textwrap.wrap(label + text, width=max(width, indent + 10), subsequent_indent=" " * indent,
                          break_long_words=False, break_on_hyphens=False) or [label]
    body = "\n".join(lines)
    start = len(label.rstrip()) if lines[0].startswith(label.rstrip()) else 0
    return Text.assemble((body[:start], label_style), (body[start:], style))


def suite_heading(suite: str, rows: list[Row], styles: Styles) -> Text:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + row.count
    tally = ", ".join(counted(counts[s], w) for s, w in SUMMARY_WORDS if counts.get(s))
    return Text.assemble((suite, styles["sanitykit.suite"]), ("  " + tally, styles["sanitykit.duration"]))


def check_line(row: Row, columns: Columns, styles: Styles, ascii_only: bool) -> Text:
    """One line: glyph, word, id, subject, title (or a short skip reason), duration."""
    glyph = (ASCII_GLYPHS if ascii_only else GLYPHS)[row.status]
    status = styles[status_style(row.status)]
    line = Text.assemble(
        ("  ", ""), (glyph, status), (" ", ""), (f"{WORDS[row.status]:<5}", status), ("  ", ""),
        (f"{row.id:<{columns.id}}", styles["sanitykit.id"]))
    if columns.subject:
        line.append(f"{clip(row.subject, columns.subject - 2, ascii_only):<{columns.subject}}",
                    styles["sanitykit.subject"])
    text_style = styles["sanitykit.skip"] if row.status == SKIP else styles["sanitykit.title"]
    text = row.skip_layout(columns.title)[0] if row.status == SKIP else row.text
    taken = 0
    if not columns.subject and row.result is not None:
        # Narrow: the subject column is gone, but a student must still see which function to open.
        prefix = f"{clip(row.subject, max(columns.title - 2, 0), ascii_only)}: "
        line.append(prefix, styles["sanitykit.subject"])
        taken = len(prefix)
    if columns.title < MIN_WRAP_WIDTH:
        pieces = [clip(text, max(columns.title - taken, 0), ascii_only)]
    else:
        # A title wraps within its column (a clipped "returns (out, cache); shape, float64, ..."
        # hides what is checked), continuation lines under its first word.
        pieces = title_lines(text, columns.title, taken)
    line.append(f"{pieces[0]:<{max(columns.title - taken, 0)}}", text_style)
    line.append(f"{row.duration:>{DURATION_WIDTH}}", styles["sanitykit.duration"])
    line.rstrip()
    column = " " * (STATUS_WIDTH + columns.id + columns.subject)
    for piece in pieces[1:]:
        line.append("\n" + column + piece, text_style)
    return line


def title_lines(text: str, width: int, taken: int = 0) -> list[str]:
    """`text` in lines of at most `width` columns, the first `taken` columns of the first line
    already used (it starts on the next line when too little is left); words kept whole."""
    if width - taken < MIN_WRAP_WIDTH:
        return ["", *(textwrap.wrap(text, width=width, break_on_hyphens=False) or [""])]
    lines = textwrap.wrap(text, width=width, initial_indent=" " * taken, break_on_hyphens=False) or [" " * taken]
    return [lines[0][taken:], *lines[1:]]


def indented(lines: list[str], width: int, style: Style) -> Text:
    """`lines` under a check's row, wrapped by us: indices stay whole, no trailing spaces."""
    indent = " " * STATUS_WIDTH
    pieces = [indent + piece for line in lines for piece in wrap_line(line, width - STATUS_WIDTH)]
    return Text("\n".join(pieces), style=style, no_wrap=True)


def diagnosis(result: CheckResult, target: str, seed: int, styles: Styles,
              width: int) -> Iterator[RenderableType]:
    """Message and hint of one check, indented under it with line breaks kept, then the rerun line.

    Wrapped here (not by rich) so that an index stays whole and no line carries trailing spaces.
    """
    indent = " " * STATUS_WIDTH
    text = Text(no_wrap=True)
    parts = [(line, "sanitykit.message", 0) for line in message_lines(result)]
    parts += [(line, "sanitykit.hint", HINT_HANG) for line in hint_lines(result)]
    first = True
    for line, style, hang in parts:
        for piece in wrap_line(line, width - STATUS_WIDTH, hang):
            text.append("" if first else "\n")
            text.append(indent + piece, styles[style])
            first = False
    if parts:
        yield text
    yield Text("\n".join(rerun_layout("rerun: " + rerun_command(target, result.id, seed), width)),
               style=styles["sanitykit.rerun"])


def rerun_layout(rerun: str, width: int) -> list[str]:
    """The rerun line indented under its check; too long, it breaks before --only with a
    shell continuation, so a copy and paste from a narrow terminal still runs."""
    indent = " " * STATUS_WIDTH
    if len(indent) + len(rerun) <= width or " --only " not in rerun:
        return [indent + rerun]
    head, tail = rerun.split(" --only ", 1)
    continuation = indent + "         --only " + tail
    if len(continuation) > width:
        continuation = "    --only " + tail
    return [indent + head + " \\", continuation]


def summary(counts: dict[str, int], styles: Styles) -> Text:
    text = Text()
    for i, part in enumerate(summary_line(counts).split(", ")):
        status = SUMMARY_WORDS[i][0]
        text.append(", " if i else "")
        text.append(part, styles[status_style(status)] if counts.get(status) else Style.null())
    return text


# ---------------------------------------------------------------- plain text

class _AsciiBuffer(io.StringIO):
    # rich reads the file's encoding to decide options.ascii_only.
    encoding = "ascii"


def render_text(report, width: int = 100, *, ascii_only: bool = False) -> str:
    """The terminal report as plain text (no colour, no trailing spaces) at a fixed width.

    Args:
        report: a sanitykit.front.report.Report.
        width: columns, default 100.
        ascii_only: ASCII glyphs and ellipses instead of Unicode.
    """
    buffer = _AsciiBuffer() if ascii_only else io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False,
                      force_jupyter=False, no_color=True, highlight=False, markup=False,
                      emoji=False, legacy_windows=False, _environ={})
    console.print(report)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"
