"""What an assignment target or a `match` pattern binds, and where in the
assigned value each unpacked name comes from."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst


def target_names(target: cst.BaseExpression) -> Iterator[cst.Name]:
    """The names an assignment target binds: `a`, `a, (b, *c)`, `[a, b]`;
    attributes and subscripts bind no name."""
    if isinstance(target, cst.Name):
        yield target
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from target_names(target.value)


def pattern_names(pattern: cst.CSTNode) -> Iterator[cst.Name]:
    """The names a `match` pattern captures."""
    if isinstance(pattern, cst.MatchAs):
        if pattern.name is not None:
            yield pattern.name
        if pattern.pattern is not None:
            yield from pattern_names(pattern.pattern)
    elif isinstance(pattern, cst.MatchStar):
        if pattern.name is not None:
            yield pattern.name
    elif isinstance(pattern, cst.MatchOr):
        for alternative in pattern.patterns:
            yield from pattern_names(alternative.pattern)
    elif isinstance(pattern, (cst.MatchList, cst.MatchTuple)):
        for item in pattern.patterns:
            if isinstance(item, cst.MatchSequenceElement):
                yield from pattern_names(item.value)
            else:
                yield from pattern_names(item)
    elif isinstance(pattern, cst.MatchMapping):
        for entry in pattern.elements:
            yield from pattern_names(entry.pattern)
        if pattern.rest is not None:
            yield pattern.rest
    elif isinstance(pattern, cst.MatchClass):
        for positional in pattern.patterns:
            yield from pattern_names(positional.value)
        for keyword in pattern.kwds:
            yield from pattern_names(keyword.pattern)


def positions_in(
    target: cst.BaseExpression, outer: tuple[int, ...] = ()
) -> Iterator[tuple[cst.Name, tuple[int, ...]]]:
    """The names an unpacking target binds, each with its index path in the
    value: `task, (a, b) = ...` gives `task` (0,), `a` (1, 0), `b` (1, 1).
    A starred name and those after it have no fixed index and are left out."""
    if not isinstance(target, (cst.Tuple, cst.List)):
        return
    for index, element in enumerate(target.elements):
        if isinstance(element, cst.StarredElement):
            return
        if isinstance(element.value, cst.Name):
            yield element.value, (*outer, index)
        else:
            yield from positions_in(element.value, (*outer, index))
