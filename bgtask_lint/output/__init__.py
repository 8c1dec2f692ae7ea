"""Reports of a run's findings, in every format the command line offers."""

# The names, apart from the formatters (formats.py): the command line lists
# them before it knows whether a run will print anything.
FORMATS = (
    "full",
    "concise",
    "grouped",
    "json",
    "json-lines",
    "junit",
    "github",
    "gitlab",
    "pylint",
    "rdjson",
    "azure",
    "sarif",
)
# The formats a summary follows ("Found 3 errors."), as in ruff; the others
# are reports of their own.
TEXT_FORMATS = ("full", "concise", "grouped")
