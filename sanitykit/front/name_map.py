"""The name map: which of the user's names is the course's (`[tool.sanitykit.map]`, --map).

A student who called their layer `my_affine` maps `affine_forward = "my_affine"` in the
pyproject.toml beside their tree, or gives `--map affine_forward=my_affine`; the checks
then find it under the course's name.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sanitykit.front.target import TargetError


def _parse_toml(text: str) -> dict[str, Any]:
    try:
        import tomllib  # Python 3.11+
    except ModuleNotFoundError:  # pragma: no cover - 3.9 / 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ModuleNotFoundError:
            return {}
    return tomllib.loads(text)


def read_name_map(folders: tuple[Path, ...]) -> tuple[dict[str, str], str]:
    """`[tool.sanitykit.map]` of the first pyproject.toml found in `folders`: (map, file).

    Args:
        folders: where to look, nearest first.
    """
    for folder in folders:
        pyproject = folder / "pyproject.toml"
        if not pyproject.is_file():
            continue
        try:
            data = _parse_toml(pyproject.read_text(encoding="utf-8"))
        except Exception as exc:  # noqa: BLE001 - a broken pyproject must not stop the checks
            raise TargetError(f"{pyproject}: cannot read [tool.sanitykit.map]: {exc}") from None
        table = data.get("tool", {}).get("sanitykit", {}).get("map", {})
        if table:
            return {str(k): str(v) for k, v in table.items() if isinstance(v, str)}, str(pyproject)
    return {}, ""


def parse_map_items(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`["affine_forward=my_affine"]` -> {"affine_forward": "my_affine"}; ValueError if malformed.

    Args:
        items: NAME=OTHER strings, as given to --map.
    """
    mapping = {}
    for item in items:
        name, sep, other = item.partition("=")
        name, other = name.strip(), other.strip()
        if not sep or not name.isidentifier() or not other.isidentifier():
            raise ValueError(f"--map {item!r}: expected NAME=OTHER, e.g. affine_forward=my_affine")
        mapping[name] = other
    return mapping

