"""Test handlers for the runtime conformance suite: the Python twins of fixtures.ts, with the same names and
the same answers. Use as ASYA_HANDLER=fixtures.<name> with this directory on PYTHONPATH.
"""
import os
import time


def _field(payload, key):
    return payload.get(key) if isinstance(payload, dict) else None


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def echo(payload):
    return payload


def fanout(payload):
    count = _field(payload, "count")
    count = int(count) if _is_number(count) else 3
    return [{"index": index, "of": count} for index in range(count)]


def empty(payload):
    return None


def fail(payload):
    message = _field(payload, "message")
    raise ValueError(message if isinstance(message, str) else "Intentional test failure")


def unserializable(payload):
    if _field(payload, "kind") == "nan":
        return {"value": float("nan")}
    return {"value": object()}


def sleep(payload):
    seconds = _field(payload, "seconds")
    if seconds is None:
        seconds = 0
    if not _is_number(seconds):
        seconds = float(seconds)
    until = time.monotonic() + seconds
    wake = _field(payload, "wake")
    while time.monotonic() < until and not (isinstance(wake, str) and os.path.exists(wake)):
        time.sleep(max(0.0, min(0.05, until - time.monotonic())))
    return {"slept": seconds}


def big(payload):
    counter = _field(payload, "counter")
    if isinstance(counter, str):
        with open(counter, "a") as f:
            f.write("%d\n" % int(time.time() * 1000))
    size_mb = _field(payload, "size_mb")
    if size_mb is None:
        size_mb = 1
    return {"data": "x" * int(float(size_mb) * 1024 * 1024)}


def gated(payload):
    """Holds the call until the test lets it go: appends a line to <dir>/started, then waits for the file
    <dir>/open, and answers its payload. The directory is payload["gate_dir"] or env FIXTURE_GATE_DIR."""
    directory = _field(payload, "gate_dir") or os.environ["FIXTURE_GATE_DIR"]
    with open(os.path.join(directory, "started"), "a") as f:
        f.write("%d\n" % os.getpid())
    while not os.path.exists(os.path.join(directory, "open")):
        time.sleep(0.02)  # a poll: the test decides when the file appears
    return payload


def flaky(payload):
    """Counts attempts as lines in the file payload["counter"] (each the attempt's time in ms) and fails while
    the attempt is at most payload["failures"]; once the file payload["fixed"] exists it always succeeds.
    payload["seconds"] (plus env FLAKY_EXTRA_SECONDS) makes each attempt take that long; env FLAKY_TAG is
    written after the time, so a test can tell which replica an attempt ran on."""
    counter = payload["counter"]
    tag = os.environ.get("FLAKY_TAG")
    with open(counter, "a") as f:
        f.write("%d%s\n" % (int(time.time() * 1000), " " + tag if tag else ""))
    with open(counter) as f:
        attempt = len(f.read().strip().split("\n"))
    time.sleep(float(payload.get("seconds", 0)) + float(os.environ.get("FLAKY_EXTRA_SECONDS", "0")))
    fixed = payload.get("fixed")
    fixed = isinstance(fixed, str) and os.path.exists(fixed)
    if not fixed and attempt <= int(payload.get("failures", 0)):
        raise ValueError("flaky failure on attempt %d" % attempt)
    return dict(payload, attempts=attempt)


class Counter:
    def __init__(self, start=0):
        self.count = start

    def process(self, payload):
        self.count += 1
        return {"count": self.count, "request_id": _field(payload, "request_id")}


def passthrough(envelope):
    return envelope


def edit_route(envelope):
    """Envelope mode: applies payload.set_route as the output route, else advances current;
    payload.fanout gives that many copies."""
    payload = envelope["payload"]
    route = _field(payload, "set_route")
    if route is None:
        route = dict(envelope["route"], current=envelope["route"]["current"] + 1)

    def make(new_payload):
        output = dict(envelope)
        output["route"] = route
        output["payload"] = new_payload
        return output

    copies = _field(payload, "fanout")
    if _is_number(copies):
        return [make({"index": index}) for index in range(int(copies))]
    return make(payload)


class NeedsArg:
    """Loader test: a class whose __init__ has a required parameter cannot be a handler."""

    def __init__(self, required):
        self.required = required

    def process(self, payload):
        return payload


not_callable = 42


APPROVAL_SCHEMA = {
    "type": "object",
    "properties": {"approved": {"type": "boolean"}, "note": {"type": "string"}},
    "required": ["approved"],
}


def ask_approval(payload):
    # Imported here: other runtimes (the original's file) load these fixtures without it on their path.
    from asya_runtime import pause

    options = {"payload": payload, "schema": APPROVAL_SCHEMA}
    if _field(payload, "timeout") is not None:
        options["timeout_seconds"] = payload["timeout"]
    if isinstance(payload, dict) and "default" in payload:
        options["default"] = payload["default"]
    return pause("Approve {}?".format(_field(payload, "doc")), **options)


def pause_envelope(envelope):
    """Envelope mode, as the original's runtime can run it: the pause is the reserved header, set by hand."""
    route = dict(envelope["route"])
    route["current"] = route["current"] + 1
    headers = dict(envelope.get("headers") or {})
    headers["x-asya-pause"] = {"prompt": "Envelope-mode approval?", "input_key": "answer"}
    return {"payload": envelope["payload"], "route": route, "headers": headers}


def trace_seen(envelope):
    """Envelope mode: notes the traceparent the runtime was handed in the payload's `seen` list, and goes on."""
    route = dict(envelope["route"])
    route["current"] = route["current"] + 1
    headers = envelope.get("headers") or {}
    payload = dict(envelope["payload"])
    payload["seen"] = list(payload.get("seen") or []) + [headers.get("traceparent")]
    return {"payload": payload, "route": route, "headers": headers}
