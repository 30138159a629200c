"""`python -m sanitykit ...`: the same commands as the `sanitykit` console script."""
from sanitykit.front.cli import app

if __name__ == "__main__":
    app(prog_name="sanitykit")
