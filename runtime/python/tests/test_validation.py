import re

import pytest

from asya_runtime import validate_envelope


def route(actors, current=0):
    return {"actors": list(actors), "current": current}


def valid(**extra):
    env = {"payload": {"x": 1}, "route": route(["a", "b"])}
    env.update(extra)
    return env


@pytest.mark.parametrize("value, name", [([], "list"), ("text", "string"), (1, "number"), (1.5, "number"),
                                         (True, "boolean"), (None, "null")])
def test_envelope_must_be_an_object(value, name):
    with pytest.raises(ValueError, match="^Envelope must be a JSON object, got {}$".format(name)):
        validate_envelope(value)


@pytest.mark.parametrize("envelope, message", [
    ({"route": route(["a"])}, "Missing required field 'payload' in envelope"),
    ({"payload": 1}, "Missing required field 'route' in envelope"),
    ({"payload": 1, "route": "a"}, "Field 'route' must be a dict"),
    ({"payload": 1, "route": ["a"]}, "Field 'route' must be a dict"),
    ({"payload": 1, "route": {"current": 0}}, "Missing required field 'actors' in route"),
    ({"payload": 1, "route": {"actors": "a", "current": 0}}, "Field 'route.actors' must be a list"),
    ({"payload": 1, "route": {"actors": ["a"], "current": "0"}}, "Field 'route.current' must be an integer"),
    ({"payload": 1, "route": {"actors": ["a"], "current": 0.0}}, "Field 'route.current' must be an integer"),
    ({"payload": 1, "route": {"actors": [], "current": 0}}, "Field 'route.actors' cannot be empty"),
    ({"payload": 1, "route": {"actors": ["a", "b"], "current": -1}},
     "Invalid route.current=-1: out of bounds for actors of length 2"),
    ({"payload": 1, "route": {"actors": ["a", "b"], "current": 10}},
     "Invalid route.current=10: out of bounds for actors of length 2"),
    ({"payload": 1, "route": route(["a"]), "headers": "trace"}, "Field 'headers' must be a dict"),
    ({"payload": 1, "route": route(["a"]), "headers": None}, "Field 'headers' must be a dict"),
    ({"payload": 1, "route": route(["a"]), "id": 12345}, "Field 'id' must be a string"),
])
def test_input_rules(envelope, message):
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        validate_envelope(envelope)


def test_checks_run_in_the_original_order():
    with pytest.raises(ValueError, match="'payload'"):
        validate_envelope({"route": "nonsense", "id": 5})
    with pytest.raises(ValueError, match="cannot be empty"):
        validate_envelope({"payload": 1, "route": {"actors": [], "current": 7}, "headers": 1})
    with pytest.raises(ValueError, match="headers"):
        validate_envelope({"payload": 1, "route": route(["a"]), "headers": 1, "id": 5})


def test_missing_current_defaults_to_zero():
    envelope = {"payload": 1, "route": {"actors": ["a"]}}
    assert validate_envelope(envelope)["route"] == {"actors": ["a"], "current": 0}


def test_current_may_equal_the_number_of_actors():
    assert validate_envelope({"payload": 1, "route": route(["a", "b"], 2)})["route"]["current"] == 2


def test_bool_current_passes_like_in_python():
    assert validate_envelope({"payload": 1, "route": route(["a", "b"], True)})["route"]["current"] is True


@pytest.mark.parametrize("payload", [None, {}, "text", 0, [1, 2]])
def test_payload_may_be_any_json_value(payload):
    assert validate_envelope({"payload": payload, "route": route(["a"])})["payload"] == payload


def test_strips_unknown_keys_and_keeps_known_ones():
    envelope = valid(id="m1", parent_id="p1", headers={"traceparent": "00-abc"}, deadline="2030-01-01T00:00:00Z",
                     extra=True)
    stripped = validate_envelope(envelope)
    assert stripped == {"payload": {"x": 1}, "route": route(["a", "b"]), "id": "m1", "parent_id": "p1",
                        "headers": {"traceparent": "00-abc"}}
    assert stripped["route"] is envelope["route"]


def test_envelope_without_id_has_no_id():
    assert "id" not in validate_envelope(valid())


# Output checks against the input route (envelope mode).


def output(actors, current):
    return {"payload": 1, "route": route(actors, current)}


@pytest.mark.parametrize("actors, current", [
    (["a", "b", "c", "d"], 0),      # extend while keeping the current actor
    (["a"], 0),                     # drop future actors
    (["a", "x", "y"], 1),           # replace future actors and advance
    (["a", "b"], 0),                # unchanged: the route loops back to this actor
    (["a", "b"], 2),                # advance to the end
])
def test_output_may_change_future_actors(actors, current):
    assert validate_envelope(output(actors, current), route(["a", "b"], 0))["route"]["actors"] == actors


def test_output_may_replace_future_actors_after_current():
    result = validate_envelope(output(["a", "b", "x", "y"], 2), route(["a", "b", "c", "d"], 1))
    assert result["route"] == route(["a", "b", "x", "y"], 2)


def test_output_changing_the_current_actor():
    with pytest.raises(ValueError) as raised:
        validate_envelope(output(["x", "b"], 1), route(["a", "b"], 0))
    assert str(raised.value) == (
        "Route modification error: already-processed actors cannot be erased. Input route had ['a'] (actors 0-0), "
        "but output route starts with ['x']. Runtimes can add future actors but must preserve all actors up to "
        "current.")


def test_output_moving_processed_actors():
    with pytest.raises(ValueError, match="Route modification error: already-processed actors cannot be erased"):
        validate_envelope(output(["x", "a", "b"], 1), route(["a", "b", "c"], 0))


def test_output_erasing_a_processed_middle_actor():
    with pytest.raises(ValueError) as raised:
        validate_envelope(output(["a", "c", "d"], 2), route(["a", "b", "c"], 2))
    message = str(raised.value)
    assert "Input route had ['a', 'b', 'c'] (actors 0-2)" in message
    assert "output route starts with ['a', 'c', 'd']" in message


def test_output_renaming_a_processed_actor():
    with pytest.raises(ValueError, match="Route modification error"):
        validate_envelope(output(["a-modified", "b", "c"], 2), route(["a", "b", "c"], 1))


def test_output_shorter_than_processed_part():
    with pytest.raises(ValueError, match=re.escape("output route starts with ['a']")):
        validate_envelope(output(["a"], 1), route(["a", "b"], 1))


def test_output_rules_come_before_the_id_rule():
    bad = output(["x"], 0)
    bad["id"] = 7
    with pytest.raises(ValueError, match="Route modification"):
        validate_envelope(bad, route(["a"], 0))


def test_output_is_checked_with_the_input_rules_too():
    with pytest.raises(ValueError, match="^Missing required field 'route' in envelope$"):
        validate_envelope({"payload": 1}, route(["a"], 0))
    with pytest.raises(ValueError, match="^Field 'route' must be a dict$"):
        validate_envelope({"payload": 1, "route": "a"}, route(["a"], 0))
