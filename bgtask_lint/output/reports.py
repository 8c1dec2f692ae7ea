"""Reports for CI gates, each in the format its consumer expects: GitHub
workflow commands, SARIF 2.1.0 (code scanning), JUnit XML, GitLab Code
Quality, and JSON lines. (`json` itself is in output.py, in ruff's schema.)"""

from __future__ import annotations

import hashlib
import json
import os
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from bgtask_lint import __version__
from bgtask_lint.diagnostic import HOMEPAGE, Diagnostic


def relative_posix(filename: str) -> str:
    """The path reports use: relative to the working directory, with `/`."""
    try:
        relative = os.path.relpath(filename)
    except ValueError:
        return Path(filename).as_posix()
    return Path(filename if relative.startswith("..") else relative).as_posix()


# -- GitHub workflow commands ---------------------------------------------


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool = False) -> str:
    """`::error title=...,file=...,line=...::message`, one line per finding: GitHub
    Actions shows each as an annotation on the pull request."""
    lines = []
    for d in diagnostics:
        path = relative_posix(d.filename)
        properties = ",".join(
            f"{key}={_escape_property(str(value))}"
            for key, value in (
                ("title", f"bgtask-lint ({d.code})"),
                ("file", path),
                ("line", d.location.row),
                ("col", d.location.column),
                ("endLine", d.end_location.row),
                ("endColumn", d.end_location.column),
            )
        )
        text = f"{path}:{d.location.row}:{d.location.column}: {d.code} {d.message}"
        lines.append(f"::{d.severity} {properties}::{_escape_data(text)}\n")
    return "".join(lines)


# -- SARIF 2.1.0 -------------------------------------------------------------


def _rule_descriptor(code: str, name: str) -> dict:
    from bgtask_lint.rules import RULES_BY_CODE

    rule = RULES_BY_CODE.get(code)
    descriptor: dict = {
        "id": code,
        "name": name,
        "helpUri": f"{HOMEPAGE}/blob/main/docs/rules/{code}.md",
    }
    if rule is not None:
        documentation = rule.documentation()
        descriptor["shortDescription"] = {"text": rule.summary}
        descriptor["fullDescription"] = {"text": _first_paragraph(documentation)}
        descriptor["help"] = {"text": rule.summary, "markdown": documentation}
        descriptor["properties"] = {"tags": ["fastapi", "background-tasks"]}
    else:
        descriptor["shortDescription"] = {"text": name.replace("-", " ")}
    return descriptor


def _first_paragraph(documentation: str) -> str:
    section = documentation.split("## What it does", 1)[-1].strip()
    return section.split("\n\n", 1)[0].replace("\n", " ")


def _region(start, end) -> dict:
    return {
        "startLine": start.row,
        "startColumn": start.column,
        "endLine": end.row,
        "endColumn": end.column,
    }


# Where relative SARIF locations start: the working directory, given as a URI
# in the run's originalUriBaseIds (code scanning and SARIF viewers resolve
# `uri` against it instead of guessing).
_SOURCE_ROOT = "%SRCROOT%"


def _artifact(filename: str) -> dict:
    """An artifactLocation: relative to the source root, or an absolute file URI
    for a file outside the working directory."""
    path = relative_posix(filename)
    if os.path.isabs(path):
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(path), "uriBaseId": _SOURCE_ROOT}


def _sarif_result(d: Diagnostic, rule_index: int) -> dict:
    location = _artifact(d.filename)
    result: dict = {
        "ruleId": d.code,
        "ruleIndex": rule_index,
        "level": "error" if d.severity == "error" else "warning",
        "message": {"text": d.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": location,
                    "region": _region(d.location, d.end_location),
                }
            }
        ],
    }
    if d.related:
        result["relatedLocations"] = [
            {
                "id": number,
                "physicalLocation": {
                    "artifactLocation": _artifact(related.filename),
                    "region": {
                        "startLine": related.location.row,
                        "startColumn": related.location.column,
                    },
                },
                "message": {"text": related.message},
            }
            for number, related in enumerate(d.related, start=1)
        ]
    if d.fix is not None:
        result["fixes"] = [
            {
                "description": {"text": f"{d.fix.message} ({d.fix.applicability})"},
                "artifactChanges": [
                    {
                        "artifactLocation": location,
                        "replacements": [
                            {
                                "deletedRegion": _region(e.location, e.end_location),
                                "insertedContent": {"text": e.content},
                            }
                            for e in d.fix.edits
                        ],
                    }
                ],
            }
        ]
    return result


def format_sarif(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool = False) -> str:
    """SARIF 2.1.0, as GitHub code scanning reads it: every rule that reported,
    with its documentation, and every finding with its region and fix."""
    codes: dict[str, str] = {}
    for d in diagnostics:
        codes.setdefault(d.code, d.name)
    ordered = sorted(codes)
    document = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "bgtask-lint",
                        "version": __version__,
                        "informationUri": HOMEPAGE,
                        "rules": [_rule_descriptor(code, codes[code]) for code in ordered],
                    }
                },
                "originalUriBaseIds": {
                    _SOURCE_ROOT: {"uri": Path(os.getcwd()).as_uri().rstrip("/") + "/"}
                },
                "results": [_sarif_result(d, ordered.index(d.code)) for d in diagnostics],
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"


# -- JUnit XML ---------------------------------------------------------------


def format_junit(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool = False) -> str:
    """One testcase per file with findings, one failure per finding (a run
    without findings is one passing testcase)."""
    by_file: dict[str, list[Diagnostic]] = {}
    for d in diagnostics:
        by_file.setdefault(relative_posix(d.filename), []).append(d)
    suites = ElementTree.Element(
        "testsuites",
        name="bgtask-lint",
        tests=str(max(len(by_file), 1)),
        failures=str(len(diagnostics)),
    )
    suite = ElementTree.SubElement(
        suites,
        "testsuite",
        name="bgtask-lint",
        tests=str(max(len(by_file), 1)),
        failures=str(len(diagnostics)),
        errors="0",
    )
    if not by_file:
        ElementTree.SubElement(suite, "testcase", name="bgtask-lint", classname="bgtask-lint")
    for path, found in by_file.items():
        case = ElementTree.SubElement(suite, "testcase", name=path, classname="bgtask-lint")
        for d in found:
            failure = ElementTree.SubElement(
                case, "failure", message=f"{d.code} {d.message}", type=d.code
            )
            failure.text = f"{path}:{d.location.row}:{d.location.column}: {d.code} {d.message}"
    ElementTree.indent(suites)
    body = ElementTree.tostring(suites, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


# -- GitLab Code Quality -----------------------------------------------------


def format_gitlab(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool = False) -> str:
    """GitLab's Code Quality report. A fingerprint names the finding by file,
    code, message and the text of its line, not its line number, so it stays
    the same when code above it moves (GitLab matches findings across
    pipelines by fingerprint)."""
    issues, seen = [], set()
    for d in diagnostics:
        path = relative_posix(d.filename)
        line_text = _line_text(d)
        base = f"{path}\0{d.code}\0{d.message}\0{line_text}"
        fingerprint, occurrence = _digest(base), 1
        while fingerprint in seen:  # the same finding twice in one file
            occurrence += 1
            fingerprint = _digest(f"{base}\0{occurrence}")
        seen.add(fingerprint)
        issues.append(
            {
                "type": "issue",
                "check_name": d.code,
                "description": f"{d.code} {d.message}",
                "categories": ["Bug Risk"],
                "severity": "major" if d.severity == "error" else "minor",
                "fingerprint": fingerprint,
                "location": {
                    "path": path,
                    "lines": {"begin": d.location.row, "end": d.end_location.row},
                },
            }
        )
    return json.dumps(issues, indent=2) + "\n"


def _line_text(d: Diagnostic) -> str:
    from bgtask_lint.output.shared import source_lines

    lines = source_lines(d)
    return lines[d.location.row - 1].strip() if 0 < d.location.row <= len(lines) else ""


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


# -- JSON lines ----------------------------------------------------------------


def format_json_lines(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool = False) -> str:
    """ruff's JSON objects, one per line."""
    from bgtask_lint.output.shared import diagnostic_to_json

    return "".join(json.dumps(diagnostic_to_json(d)) + "\n" for d in diagnostics)


# -- pylint ----------------------------------------------------------------------


def format_pylint(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool = False) -> str:
    """`path:row: [CODE] message`, the line pylint's parsers (and editors'
    problem matchers written for pylint) read."""
    return "".join(
        f"{relative_posix(d.filename)}:{d.location.row}: [{d.code}] {d.message}\n"
        for d in diagnostics
    )


# -- Azure Pipelines logging commands ----------------------------------------------


def format_azure(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool = False) -> str:
    """`##vso[task.logissue ...]message`: Azure Pipelines shows each as an
    error (or a warning) of the build, on its line."""
    lines = []
    for d in diagnostics:
        properties = ";".join(
            f"{key}={_azure_property(str(value))}"
            for key, value in (
                ("type", d.severity),
                ("sourcepath", relative_posix(d.filename)),
                ("linenumber", d.location.row),
                ("columnnumber", d.location.column),
                ("code", d.code),
            )
        )
        lines.append(f"##vso[task.logissue {properties};]{_azure_data(d.message)}\n")
    return "".join(lines)


def _azure_data(text: str) -> str:
    """A logging command ends at the line's end: the message must not."""
    return text.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")


def _azure_property(text: str) -> str:
    return _azure_data(text).replace(";", "%3B").replace("]", "%5D")


# -- reviewdog (rdjson) ------------------------------------------------------------


def format_rdjson(diagnostics: Sequence[Diagnostic], unsafe_fixes: bool = False) -> str:
    """reviewdog's Diagnostic Format (`reviewdog -f=rdjson`): columns count
    UTF-8 bytes from 1, ends are exclusive, fixes are suggestions."""
    from bgtask_lint.output.shared import source_lines

    def position(d: Diagnostic, row: int, column: int) -> dict:
        lines = source_lines(d)
        line = lines[row - 1] if 0 < row <= len(lines) else ""
        return {"line": row, "column": len(line[: column - 1].encode("utf-8")) + 1}

    def span(d: Diagnostic, start, end) -> dict:
        return {
            "start": position(d, start.row, start.column),
            "end": position(d, end.row, end.column),
        }

    document = {
        "source": {"name": "bgtask-lint", "url": HOMEPAGE},
        "severity": "ERROR",
        "diagnostics": [
            {
                "message": d.message,
                "location": {
                    "path": relative_posix(d.filename),
                    "range": span(d, d.location, d.end_location),
                },
                "severity": d.severity.upper(),
                "code": {
                    "value": d.code,
                    "url": d.url or f"{HOMEPAGE}/blob/main/docs/rules/{d.code}.md",
                },
                **(
                    {
                        "suggestions": [
                            {"range": span(d, e.location, e.end_location), "text": e.content}
                            for e in d.fix.edits
                        ]
                    }
                    if d.fix is not None
                    else {}
                ),
            }
            for d in diagnostics
        ],
    }
    return json.dumps(document, indent=2) + "\n"
