import json
import math

import pytest

import asya_runtime
import fixtures
from asya_runtime import load_handler
from support import envelope, roundtrip, run


def ok(responses):
    assert all("error" not in r for r in responses), responses
    return responses


def error_of(responses):
    assert len(responses) == 1 and "error" in responses[0], responses
    return responses[0]


# Payload mode


@pytest.mark.parametrize("result", ["a string", 42, 3.5, True, {"result": 84}, {"n": None}])
def test_single_result_becomes_one_output(result):
    responses = ok(run(envelope({"x": 1}, actors=["actor1"]), lambda p: result))
    assert responses == [{"payload": result, "route": {"actors": ["actor1"], "current": 1}}]


@pytest.mark.parametrize("result", [None, [], ()])
def test_empty_results(result):
    assert run(envelope({}), lambda p: result) == []


@pytest.mark.parametrize("result", [[1, {"b": 2}, "c"], (1, {"b": 2}, "c")])
def test_list_or_tuple_fans_out(result):
    responses = ok(run(envelope({}, actors=["fan"]), lambda p: result))
    assert [r["payload"] for r in responses] == [1, {"b": 2}, "c"]
    assert all(r["route"] == {"actors": ["fan"], "current": 1} for r in responses)


def test_multi_actor_route_advances_and_keeps_extra_route_keys():
    env = envelope({}, actors=["a", "b", "c"], current=1)
    env["route"]["metadata"] = {"tool": "t"}
    [response] = ok(run(env, fixtures.echo))
    assert response["route"] == {"actors": ["a", "b", "c"], "current": 2, "metadata": {"tool": "t"}}


def test_input_route_is_not_modified():
    env = envelope({})
    func = load_handler("fixtures.echo")
    data = json.dumps(env).encode()
    first = run(data, func)
    assert run(data, func) == first
    assert first[0]["route"]["current"] == 1


def test_payload_mode_passes_payload_only():
    seen = []
    run(envelope({"k": "v"}, headers={"h": 1}), lambda p: seen.append(p))
    assert seen == [{"k": "v"}]


def test_null_payload_is_passed_as_none():
    seen = []
    assert run(envelope(None), lambda p: seen.append(p)) == []
    assert seen == [None]


@pytest.mark.parametrize("payload", [
    {"int": 1, "float": 2.5, "bool": False, "null": None, "list": [1, "two", [3]], "nested": {"a": {"b": {"c": 1}}}},
    {"text": "Hello 世界 こんにちは 🌍"},
    {"text": "quote \" backslash \\ newline \n tab \t"},
    {"blob": "x" * (1024 * 1024)},
])
def test_payloads_round_trip(payload):
    [response] = roundtrip(run(envelope(payload), fixtures.echo))
    assert response["payload"] == payload


def test_deeply_nested_payload():
    payload = value = {}
    for _ in range(50):
        value["n"] = {}
        value = value["n"]
    [response] = roundtrip(run(envelope(payload), fixtures.echo))
    assert response["payload"] == payload


def test_missing_current_is_treated_as_zero():
    env = {"payload": 1, "route": {"actors": ["a", "b"]}}
    assert run(env, fixtures.echo)[0]["route"] == {"actors": ["a", "b"], "current": 1}


def test_class_handler_keeps_state_across_requests():
    process = load_handler("fixtures.Counter.process")
    counts = [run(envelope({"request_id": i}), process)[0]["payload"] for i in range(3)]
    assert counts == [{"count": 1, "request_id": 0}, {"count": 2, "request_id": 1}, {"count": 3, "request_id": 2}]


def test_fixture_fanout():
    responses = ok(run(envelope({"count": 2}), fixtures.fanout))
    assert [r["payload"] for r in responses] == [{"index": 0, "of": 2}, {"index": 1, "of": 2}]
    assert len(run(envelope({}), fixtures.fanout)) == 3


# Headers


def test_payload_mode_copies_headers_into_every_output():
    headers = {"traceparent": "00-abc-def-01", "baggage": "k=v"}
    single = run(envelope({}, headers=headers), fixtures.echo)
    fanned = run(envelope({"count": 3}, headers=headers), fixtures.fanout)
    assert [r["headers"] for r in single + fanned] == [headers] * 4


def test_payload_mode_without_headers_has_no_headers_key():
    assert "headers" not in run(envelope({}), fixtures.echo)[0]


def test_non_dict_headers_are_a_parsing_error():
    response = error_of(run(envelope({}, headers="trace"), fixtures.echo))
    assert response["error"] == "msg_parsing_error"
    assert response["details"]["message"] == "Field 'headers' must be a dict"


# Envelope mode


def test_envelope_mode_passthrough_keeps_route_and_headers():
    env = envelope({"k": 1}, headers={"trace_id": "t1"}, parent_id="p0")
    [response] = ok(run(env, fixtures.passthrough, handler_mode="envelope"))
    assert response == {"payload": {"k": 1}, "route": {"actors": ["a", "b"], "current": 0}, "id": "msg-1",
                        "parent_id": "p0", "headers": {"trace_id": "t1"}}


def test_envelope_mode_handler_sees_the_stripped_envelope():
    seen = []
    env = envelope({}, deadline="2030-01-01T00:00:00Z", headers={"h": 1})
    run(env, lambda e: seen.append(e), handler_mode="envelope")
    assert seen == [{"payload": {}, "route": {"actors": ["a", "b"], "current": 0}, "id": "msg-1", "headers": {"h": 1}}]


def test_envelope_mode_strips_outputs():
    result = {"payload": 1, "route": {"actors": ["a", "b"], "current": 1}, "id": "out", "junk": True}
    assert run(envelope({}), lambda e: result, handler_mode="envelope") == [
        {"payload": 1, "route": {"actors": ["a", "b"], "current": 1}, "id": "out"}]


def test_envelope_mode_without_validation_returns_outputs_as_given():
    result = {"payload": 1, "route": {"actors": ["z"], "current": 9}, "junk": True}
    assert run(envelope({}), lambda e: result, handler_mode="envelope", enable_validation=False) == [result]


def test_envelope_mode_none_is_empty():
    assert run(envelope({}), lambda e: None, handler_mode="envelope") == []


def test_envelope_mode_edit_route_advances():
    [response] = ok(run(envelope({"v": 1}), fixtures.edit_route, handler_mode="envelope"))
    assert response["route"] == {"actors": ["a", "b"], "current": 1}
    assert response["payload"] == {"v": 1}


def test_envelope_mode_route_extension_accepted():
    new_route = {"actors": ["a", "b", "c", "d"], "current": 1}
    [response] = ok(run(envelope({"set_route": new_route}), fixtures.edit_route, handler_mode="envelope"))
    assert response["route"] == new_route


def test_envelope_mode_modification_keeping_current():
    new_route = {"actors": ["actor1", "modified"], "current": 0}
    env = envelope({"set_route": new_route}, actors=["actor1", "actor2"])
    assert run(env, fixtures.edit_route, handler_mode="envelope")[0]["route"] == new_route


def test_envelope_mode_fanout_with_headers():
    env = envelope({"fanout": 3}, headers={"trace_id": "t"})
    responses = ok(run(env, fixtures.edit_route, handler_mode="envelope"))
    assert [r["payload"] for r in responses] == [{"index": 0}, {"index": 1}, {"index": 2}]
    assert all(r["headers"] == {"trace_id": "t"} and r["route"]["current"] == 1 for r in responses)


def test_envelope_mode_changing_current_actor_is_a_processing_error():
    env = envelope({"set_route": {"actors": ["x", "b"], "current": 1}})
    response = error_of(run(env, fixtures.edit_route, handler_mode="envelope"))
    assert response["error"] == "processing_error"
    assert response["details"]["type"] == "ValueError"
    message = response["details"]["message"]
    assert message.startswith("Invalid output envelope[0/1]: Route modification error")
    assert "['a']" in message and "['x']" in message


def test_envelope_mode_fanout_with_one_bad_output():
    good = {"payload": 1, "route": {"actors": ["a", "z"], "current": 1}}
    bad = {"payload": 2, "route": {"actors": ["x"], "current": 1}}
    response = error_of(run(envelope({}), lambda e: [good, bad], handler_mode="envelope"))
    assert response["details"]["message"].startswith("Invalid output envelope[1/2]: Route modification error")


def test_envelope_mode_fanout_keeping_first_actor_with_different_tails():
    outputs = [{"payload": i, "route": {"actors": ["a"] + tail, "current": 1}} for i, tail in
               enumerate([["b"], ["c", "d"], []])]
    assert len(ok(run(envelope({}), lambda e: outputs, handler_mode="envelope"))) == 3


@pytest.mark.parametrize("result, message", [
    ({"payload": 1}, "Invalid output envelope[0/1]: Missing required field 'route' in envelope"),
    ({"payload": 1, "route": "a"}, "Invalid output envelope[0/1]: Field 'route' must be a dict"),
    ("text", "Invalid output envelope[0/1]: Envelope must be a JSON object, got string"),
    ([{"payload": 1, "route": {"actors": ["a"], "current": 1}}, {"payload": 2}],
     "Invalid output envelope[1/2]: Missing required field 'route' in envelope"),
])
def test_envelope_mode_invalid_outputs(result, message):
    response = error_of(run(envelope({}), lambda e: result, handler_mode="envelope"))
    assert response["error"] == "processing_error"
    assert response["details"]["message"] == message


def test_envelope_mode_in_place_route_edits_are_still_checked():
    def erase_in_place(env):
        env["route"]["actors"][0] = "x"
        return env

    response = error_of(run(envelope({}), erase_in_place, handler_mode="envelope"))
    assert "Route modification error" in response["details"]["message"]


def test_envelope_mode_reads_and_echoes_id():
    def echo_id(env):
        return {"id": env["id"], "payload": env["id"], "route": dict(env["route"], current=1)}

    assert run(envelope({}), echo_id, handler_mode="envelope")[0]["id"] == "msg-1"


def test_class_handler_in_envelope_mode_keeps_headers():
    class Tracer:
        def __init__(self):
            self.calls = 0

        def process(self, env):
            self.calls += 1
            env["payload"] = {"trace": env["headers"]["trace_id"], "calls": self.calls}
            return env

    handler = Tracer().process
    env = envelope({}, headers={"trace_id": "t-9"})
    for calls in (1, 2):
        [response] = ok(run(env, handler, handler_mode="envelope"))
        assert response["payload"] == {"trace": "t-9", "calls": calls}
        assert response["headers"] == {"trace_id": "t-9"}


# Validation switched off


def test_validation_off_passes_extra_keys_and_skips_checks():
    env = {"payload": 1, "route": {"actors": [], "current": 5}, "headers": "not a dict"}
    [response] = run(env, fixtures.echo, enable_validation=False)
    assert response == {"payload": 1, "route": {"actors": [], "current": 6}, "headers": "not a dict"}


def test_validation_off_missing_route_is_a_processing_error():
    response = error_of(run({"payload": 1}, fixtures.echo, enable_validation=False))
    assert response["error"] == "processing_error"
    assert response["details"]["type"] == "KeyError"


def test_validation_off_still_requires_an_object():
    response = error_of(run(b"[1, 2]", fixtures.echo, enable_validation=False))
    assert response["error"] == "msg_parsing_error"
    assert response["details"]["message"] == "Envelope must be a JSON object, got list"


# Errors


def test_error_response_shapes():
    assert asya_runtime.error_response("test_error") == [{"error": "test_error"}]
    try:
        raise ValueError("bad thing")
    except ValueError as exc:
        [response] = asya_runtime.error_response("processing_error", exc)
    assert response["error"] == "processing_error"
    assert response["details"]["message"] == "bad thing"
    assert response["details"]["type"] == "ValueError"
    assert "ValueError: bad thing" in response["details"]["traceback"]


@pytest.mark.parametrize("exc_type", [ValueError, RuntimeError, KeyError, ZeroDivisionError])
def test_handler_exception_is_a_processing_error(exc_type):
    def handler(payload):
        raise exc_type("Handler failed")

    response = error_of(run(envelope({}), handler))
    assert response["error"] == "processing_error"
    assert response["details"]["type"] == exc_type.__name__
    assert "Handler failed" in response["details"]["message"]
    assert "in handler" in response["details"]["traceback"]


def test_fail_fixture():
    response = error_of(run(envelope({"message": "boom"}), fixtures.fail))
    assert (response["details"]["message"], response["details"]["type"]) == ("boom", "ValueError")
    assert error_of(run(envelope({}), fixtures.fail))["details"]["message"] == "Intentional test failure"


def test_unprintable_exception():
    class Weird(Exception):
        def __str__(self):
            raise RuntimeError("no")

    def handler(payload):
        raise Weird()

    response = error_of(roundtrip(run(envelope({}), handler)))
    assert response["details"]["type"] == "Weird"
    assert "unprintable" in response["details"]["message"]


def test_invalid_mode_at_request_time_is_a_processing_error():
    response = error_of(run(envelope({}), fixtures.echo, handler_mode="bogus"))
    assert response["error"] == "processing_error"
    assert "Invalid ASYA_HANDLER_MODE=bogus" in response["details"]["message"]


@pytest.mark.parametrize("body, fragment", [
    (b"not json", "Expecting value"),
    (b"", "Expecting value"),
    (b'{"payload": 1, "route": ', "Expecting value"),
    (b"\xff\xfe{}", "utf-8"),
    (b'{"payload": NaN, "route": {"actors": ["a"], "current": 0}}', "NaN"),
    (b'{"payload": Infinity, "route": {"actors": ["a"], "current": 0}}', "Infinity"),
    (b'"just a string"', "Envelope must be a JSON object, got string"),
    (b"null", "Envelope must be a JSON object, got null"),
])
def test_unparseable_requests(body, fragment):
    response = error_of(run(body, fixtures.echo))
    assert response["error"] == "msg_parsing_error"
    assert fragment in response["details"]["message"]


# Results JSON cannot carry


@pytest.mark.parametrize("value, exc_type", [(object(), "TypeError"), (float("nan"), "ValueError"),
                                             (float("inf"), "ValueError"), (-math.inf, "ValueError"),
                                             ({1, 2}, "TypeError"), (b"bytes", "TypeError")])
def test_unserialisable_results_become_processing_errors(value, exc_type):
    response = error_of(roundtrip(run(envelope({}), lambda p: {"value": value})))
    assert response["error"] == "processing_error"
    assert response["details"]["type"] == exc_type
    assert response["details"]["message"]


def test_circular_result_becomes_a_processing_error():
    loop = {}
    loop["self"] = loop
    response = error_of(roundtrip(run(envelope({}), lambda p: loop)))
    assert response["error"] == "processing_error"
    assert "Circular reference" in response["details"]["message"]


@pytest.mark.parametrize("kind, exc_type", [("nan", "ValueError"), ("object", "TypeError")])
def test_unserializable_fixture(kind, exc_type):
    response = error_of(roundtrip(run(envelope({"kind": kind}), fixtures.unserializable)))
    assert response["details"]["type"] == exc_type


def test_encoded_response_is_strict_json():
    body = asya_runtime.encode_response([{"payload": "é 🌍", "route": {"actors": ["a"], "current": 1}}])
    assert json.loads(body.decode("utf-8")) == [{"payload": "é 🌍", "route": {"actors": ["a"], "current": 1}}]
