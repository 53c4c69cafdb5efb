"""ASYA_LOG_FORMAT=json: every line the runtime process writes is one JSON object, and lines written while an
envelope is handled (the runtime's and the handler's own) carry its id and the trace of its traceparent."""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import time

import pytest

import asya_runtime
from support import HANDLERS_DIR, RUNTIME_SCRIPT

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = "00-{}-{}-01".format(TRACE_ID, SPAN_ID)

HANDLER = textwrap.dedent("""
    import logging, warnings

    def process(payload):
        logging.getLogger("my.handler").info("working on %s", payload["n"])
        if payload.get("warn"):
            warnings.warn("old API")
        if payload.get("fail"):
            raise ValueError("no good")
        return payload
""")


def request(socket_path, envelope):
    body = json.dumps(envelope).encode()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(20)
        sock.connect(socket_path)
        sock.sendall(struct.pack(">I", len(body)) + body)
        raw = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
    return json.loads(raw[4:])


def run_runtime(tmp_path, handler, *envelopes, **env):
    handlers = tmp_path / "handlers"
    handlers.mkdir(exist_ok=True)
    (handlers / "logging_handler.py").write_text(HANDLER)
    sockets = str(tmp_path / "sock")
    full_env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(handlers), HANDLERS_DIR]), ASYA_HANDLER=handler,
                    ASYA_SOCKET_DIR=sockets, ASYA_LOG_FORMAT="json", **env)
    proc = subprocess.Popen([sys.executable, RUNTIME_SCRIPT], env=full_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 15
        while not os.path.exists(os.path.join(sockets, "runtime-ready")):
            if proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        for envelope in envelopes:
            request(os.path.join(sockets, "asya-runtime.sock"), envelope)
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=20)
    return proc.returncode, out.decode(), err.decode()


def json_lines(text):
    lines = [line for line in text.splitlines() if line]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            pytest.fail("not a JSON line: {!r}".format(line))
    for entry in parsed:
        assert isinstance(entry, dict), entry
        assert {"time", "level", "component", "message"} <= set(entry), entry
        assert entry["level"] in ("DEBUG", "INFO", "WARNING", "ERROR"), entry
        assert entry["time"].endswith("Z") and "T" in entry["time"], entry
    return parsed


def envelope(id, payload, traceparent=TRACEPARENT):
    env = {"id": id, "route": {"actors": ["a"], "current": 0}, "payload": payload}
    if traceparent:
        env["headers"] = {"traceparent": traceparent}
    return env


def test_lines_during_a_traced_call_carry_its_trace(tmp_path):
    code, out, err = run_runtime(
        tmp_path, "logging_handler.process",
        envelope("traced", {"n": 1, "warn": True}),
        envelope("failing", {"n": 2, "fail": True}),
        envelope("untraced", {"n": 3}, traceparent=None),
        ASYA_LOG_LEVEL="DEBUG",
    )
    assert code == 0, err
    assert out == ""
    lines = json_lines(err)
    assert all(line["component"] == "runtime" for line in lines)
    handler_lines = [line for line in lines if line.get("logger") == "my.handler"]
    assert [line["message"] for line in handler_lines] == ["working on 1", "working on 2", "working on 3"]
    for line in lines:
        if line.get("envelope_id") in ("traced", "failing"):
            assert (line.get("trace_id"), line.get("span_id")) == (TRACE_ID, SPAN_ID), line
        else:
            assert "trace_id" not in line and "span_id" not in line, line
    failed = [line for line in lines if line["message"].startswith("Handler failed")]
    assert [(f["level"], f["envelope_id"]) for f in failed] == [("ERROR", "failing")]
    warned = [line for line in lines if "old API" in line["message"]]
    assert len(warned) == 1 and warned[0]["level"] == "WARNING" and warned[0]["envelope_id"] == "traced"
    # Between envelopes no envelope is named: the context ends with the request.
    assert "envelope_id" not in lines[-1]


def test_startup_failures_are_json_too(tmp_path):
    code, out, err = run_runtime(tmp_path, "missing_module.process")
    assert code == 1
    fatal = [line for line in json_lines(err) if line["message"].startswith("FATAL")]
    assert len(fatal) == 1 and fatal[0]["level"] == "ERROR"
    assert "missing_module" in fatal[0]["message"]


def test_an_unknown_format_stops_startup():
    with pytest.raises(ValueError, match="ASYA_LOG_FORMAT='xml'"):
        asya_runtime.load_config({"ASYA_LOG_FORMAT": "xml"})
    assert asya_runtime.load_config({"ASYA_LOG_FORMAT": " JSON "}).log_format == "json"
    assert asya_runtime.load_config({}).log_format == "text"


@pytest.mark.parametrize("value", [
    "00-{}-{}-01-extra".format(TRACE_ID, SPAN_ID),
    "ff-{}-{}-01".format(TRACE_ID, SPAN_ID),
    "00-{}-{}-01".format("0" * 32, SPAN_ID),
    "00-{}-{}-01".format(TRACE_ID, "0" * 16),
    "00-abc-def-01",
    None,
    42,
])
def test_invalid_traceparents_name_no_trace(value):
    assert asya_runtime.parse_traceparent(value) is None


def test_a_later_version_may_append_fields():
    assert asya_runtime.parse_traceparent("01-{}-{}-01-more".format(TRACE_ID, SPAN_ID)) == {"trace_id": TRACE_ID, "span_id": SPAN_ID}
