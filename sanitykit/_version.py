"""sanitykit's version: one place, read by `sanitykit --version`, the reports and pyproject.toml."""

__version__ = "0.2.0"
