"""A pytest plugin that writes one JSON line per test outcome, so vitest can count pytest's own tests.

Loaded with `-p pytest_report` (test/support on PYTHONPATH); writes to the file named by ASYA_PYTEST_REPORT.
Each line is {"nodeid", "outcome": "passed"|"failed"|"skipped", "reason" (one line), "detail"}; a test that fails in setup,
call or teardown is one failed line, and a module that fails to import is a failed line for that module.
"""
import json
import os

_outcomes = {}


def _reason(report):
    """One line: the skip reason, or the failure's crash message."""
    if report.outcome == "skipped" and isinstance(report.longrepr, tuple):
        reason = report.longrepr[2]
        return reason[len("Skipped: "):] if reason.startswith("Skipped: ") else reason
    crash = getattr(report.longrepr, "reprcrash", None)
    return crash.message if crash is not None else (report.longreprtext or "").strip().split("\n")[-1]


def _record(nodeid, report):
    known = _outcomes.get(nodeid)
    # The worst phase wins: a teardown error fails a test that passed its call.
    rank = {"passed": 0, "skipped": 1, "failed": 2}
    if known is None or rank[report.outcome] > rank[known["outcome"]]:
        _outcomes[nodeid] = {
            "nodeid": nodeid,
            "outcome": report.outcome,
            "reason": _reason(report),
            "detail": report.longreprtext or "",
        }


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        _record(report.nodeid, report)


def pytest_collectreport(report):
    if report.outcome == "failed":
        _record(report.nodeid or "collection", report)


def pytest_sessionfinish(session):
    with open(os.environ["ASYA_PYTEST_REPORT"], "w", encoding="utf-8") as out:
        for outcome in _outcomes.values():
            out.write(json.dumps(outcome) + "\n")
