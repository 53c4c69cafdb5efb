"""Helpers shared by the runtime tests (conftest.py puts the runtime and the fixture handlers on sys.path)."""
import dataclasses
import json
import os

import asya_runtime

HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIME_SCRIPT = os.path.join(os.path.dirname(HERE), "asya_runtime.py")
HANDLERS_DIR = os.path.join(os.path.dirname(os.path.dirname(HERE)), "testdata", "handlers")


def make_config(**overrides):
    return dataclasses.replace(asya_runtime.Config(), **overrides)


def envelope(payload=None, actors=("a", "b"), current=0, **extra):
    env = {"id": "msg-1", "route": {"actors": list(actors), "current": current}, "payload": payload}
    env.update(extra)
    return env


def run(env, func, **overrides):
    """Feeds one request body (dict → JSON, or raw bytes) through the runtime's request processing."""
    data = env if isinstance(env, (bytes, bytearray)) else json.dumps(env).encode("utf-8")
    return asya_runtime.process_message(data, func, make_config(**overrides))


def roundtrip(responses):
    """What the sidecar would receive: the responses after strict JSON encoding."""
    return json.loads(asya_runtime.encode_response(responses))
