"""Machine-readable renderings of verify results: JSON, JUnit XML and GitHub annotations.

Pure functions from reports to text, so `xbuild build` and `xbuild bundle` render the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from xml.etree import ElementTree as ET

from xbuild.target import Target
from xbuild.util.text import plural
from xbuild.verify.model import Finding, Kind, Severity, WheelReport


def to_json(reports: Sequence[WheelReport], target: Target | None) -> dict[str, Any]:
    return {
        "ok": all(r.ok for r in reports),
        "target": None if target is None else target.to_json(),
        "wheels": [r.to_json() for r in reports],
    }


def to_junit(reports: Sequence[WheelReport], target: Target | None) -> str:
    """One testcase per wheel; errors become a <failure>, warnings go to <system-out>."""
    failures = sum(not r.ok for r in reports)
    suite = ET.Element(
        "testsuite",
        name="xbuild verify",
        tests=str(len(reports)),
        failures=str(failures),
        errors="0",
        skipped="0",
    )
    if target is not None:
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="target", value=target.platform_label)
    for report in reports:
        case = ET.SubElement(
            suite, "testcase", classname="xbuild.verify", name=report.path.name, file=str(report.path)
        )
        if not report.ok:
            errors = report.errors
            failure = ET.SubElement(
                case,
                "failure",
                type="refused",
                message=f"{plural(len(errors), 'error')}: {errors[0].check}: {_one_line(errors[0])}",
            )
            failure.text = "\n".join(_line(f) for f in errors)
        if report.warnings:
            ET.SubElement(case, "system-out").text = "\n".join(_line(f) for f in report.warnings)
    root = ET.Element("testsuites", name="xbuild verify", tests=str(len(reports)), failures=str(failures))
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def to_github(reports: Sequence[WheelReport]) -> str:
    """Workflow commands (`::error file=...::`) that GitHub Actions turns into annotations."""
    lines = []
    for report in reports:
        for finding in report.findings:
            command = "error" if finding.severity is Severity.ERROR else "warning"
            title = f"xbuild verify: {finding.check}"
            lines.append(
                f"::{command} file={_property(str(report.path))},title={_property(title)}::"
                f"{_data(_one_line(finding))}"
            )
    ok = sum(r.ok for r in reports)
    lines.append(f"xbuild verify: {ok} of {counted(reports)} passed")
    return "\n".join(lines) + "\n"


def counted(reports: Sequence[WheelReport]) -> str:
    """ "3 wheel(s)", "1 installed tree(s)" or "2 wheel(s) and 1 installed tree(s)"."""
    trees = sum(r.kind is Kind.INSTALLED for r in reports)
    wheels = len(reports) - trees
    parts = [plural(wheels, "wheel")] if wheels or not trees else []
    return " and ".join([*parts, plural(trees, "installed tree")] if trees else parts)


def _one_line(finding: Finding) -> str:
    return f"{finding.member}: {finding.message}" if finding.member else finding.message


def _line(finding: Finding) -> str:
    return f"[{finding.check}] {_one_line(finding)}"


def _data(text: str) -> str:
    # The escaping GitHub's toolkit applies to command data and to property values.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
