"""Every rule code, without importing the rules (and libcst with them): the
configuration validates selectors against this list on every run, cached or
not. tests/test_docs.py checks it matches the registry in rules/__init__.py."""

RULE_CODES = (
    "BGT001",
    "BGT002",
    "BGT003",
    "BGT004",
    "BGT005",
    "BGT006",
    "BGT007",
    "BGT008",
    "BGT009",
    "BGT010",
    "BGT100",
)
