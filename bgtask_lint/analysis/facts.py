"""What one file's analysis says about other files, as strings that travel
between processes and into the result cache (light: no libcst).

A fact is filed under the file it is about. A function key (`send`,
`Mailer.send`) says the function is submitted as a background task; anything
else starts with FACT_PREFIX and is
`<prefix><kind>\\t<subject>\\t<json payload>` (see provenance.py).
"""

from __future__ import annotations

import json
from typing import Any, Optional

FACT_PREFIX = "@"
# The kind of fact that says what a parameter of a function is handed; its
# subject is `<function key> <parameter>` (provenance.propagate).
PARAM = "param"


def encode(kind: str, subject: str, payload: Any) -> str:
    return f"{FACT_PREFIX}{kind}\t{subject}\t{json.dumps(payload, separators=(',', ':'))}"


def decode(fact: str) -> Optional[tuple[str, str, Any]]:
    """(kind, subject, payload), or None for a task key or a malformed fact."""
    if not fact.startswith(FACT_PREFIX):
        return None
    try:
        kind, subject, raw = fact[len(FACT_PREFIX) :].split("\t", 2)
        return kind, subject, json.loads(raw)
    except ValueError:
        return None


def is_task_key(fact: str) -> bool:
    return not fact.startswith(FACT_PREFIX)


def function_of(fact: str) -> Optional[str]:
    """The key of the function a fact is about: a task key itself, the
    function of a parameter fact; None for a fact of another kind."""
    if is_task_key(fact):
        return fact
    decoded = decode(fact)
    if decoded is None or decoded[0] != PARAM:
        return None
    return decoded[1].partition(" ")[0]
