"""Reports of a run's findings, in every format the command line offers."""

# The names, apart from the formatters (formats.py): the command line lists
# them before it knows whether a run will print anything, and the
# configuration's `output-format` is checked against them.
from bgtask_lint.config.options import OUTPUT_FORMATS as FORMATS

__all__ = ["FORMATS", "TEXT_FORMATS"]

# The formats a summary follows ("Found 3 errors."), as in ruff; the others
# are reports of their own.
TEXT_FORMATS = ("full", "concise", "grouped")
