"""What one file's analysis says about other files (light: no libcst).

A fact is filed under the file it is about, as a typed value: a task key (a
function key, `send` or `Mailer.send`, that files submit as a background
task), a HandedValue (what a route hands to a parameter) or an
AwaitedHelper (an async function a task of another file awaits). They
travel between processes and into the result cache as strings: a task key
as itself, the others as `<prefix><kind>\\t<subject>\\t<json payload>`,
written by `fact()` and read back by `of()`, here only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Optional

from bgtask_lint.analysis.origins import INJECTED, Origin

FACT_PREFIX = "@"
# The kind of fact that says what a parameter of a function is handed; its
# subject is `<function key> <parameter>` (provenance.propagate).
PARAM = "param"
# The kind of fact that says an async function runs on the event loop as part
# of a task of another module, which awaits it (AwaitedHelper).
AWAITED = "awaited"


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
    if decoded is None or decoded[0] not in (PARAM, AWAITED):
        return None
    return decoded[1].partition(" ")[0]


@dataclass(frozen=True)
class HandedValue:
    """Parameter `param` of function `key`, of the file the fact is filed
    under, is handed a value of `origin` by a route or what it calls
    (provenance.propagate)."""

    key: str
    param: str
    origin: Origin

    def fact(self) -> str:
        return encode(PARAM, f"{self.key} {self.param}", self.origin.to_json())

    @classmethod
    def of(cls, fact: str) -> Optional[HandedValue]:
        """The value a fact says is handed, or None for a fact of another kind."""
        decoded = decode(fact)
        if decoded is None or decoded[0] != PARAM:
            return None
        key, _, param = decoded[1].partition(" ")
        try:
            return cls(key, param, Origin.from_json(decoded[2]))
        except (ValueError, TypeError):
            return None


def given_injected(facts: Iterable[str], kind: str) -> set[tuple[str, str]]:
    """(function key, parameter) that `facts` say a route hands what FastAPI
    injects as `kind` (`"BackgroundTasks"`)."""
    found = set()
    for fact in facts:
        handed = HandedValue.of(fact) if f'"{kind}"' in fact else None
        if handed is not None and handed.origin.kind == INJECTED and handed.origin.type == kind:
            found.add((handed.key, handed.param))
    return found


@dataclass(frozen=True)
class AwaitedHelper:
    """Async function `key` of the file the fact is filed under runs on the
    event loop inside a task: `chain` names the task, the async helpers on
    the way and this one; `files` holds the files of those before it;
    `depth` is how many calls below the task it is."""

    key: str
    chain: tuple[str, ...]
    files: tuple[str, ...]
    depth: int

    def fact(self) -> str:
        payload = {"chain": list(self.chain), "files": list(self.files), "depth": self.depth}
        return encode(AWAITED, self.key, payload)

    @classmethod
    def of(cls, fact: str) -> Optional[AwaitedHelper]:
        """The helper a fact names, or None for a fact of another kind."""
        decoded = decode(fact)
        if decoded is None or decoded[0] != AWAITED:
            return None
        payload = decoded[2]
        try:
            return cls(
                decoded[1],
                tuple(str(n) for n in payload["chain"]),
                tuple(str(f) for f in payload["files"]),
                int(payload["depth"]),
            )
        except (KeyError, TypeError, ValueError):
            return None
