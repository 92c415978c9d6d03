"""`xbuild verify`: check wheels against a target in one streaming pass, findings as data."""

from xbuild.verify.model import Check, Finding, Limits, Severity, WheelReport
from xbuild.verify.runner import collect_wheels, verify_paths, verify_wheel

__all__ = [
    "Check",
    "Finding",
    "Limits",
    "Severity",
    "WheelReport",
    "collect_wheels",
    "verify_paths",
    "verify_wheel",
]
