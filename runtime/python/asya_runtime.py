#!/usr/bin/env python3
"""Asya actor runtime: serves one user handler to the sidecar over a Unix socket.

Drop-in replacement for the original asya_runtime.py (mounted at /opt/asya/asya_runtime.py and started with
`python3 /opt/asya/asya_runtime.py`). Standard library only; Python 3.8 or newer.

Protocol: one request per connection. Each direction is a 4-byte big-endian length followed by that many
bytes of UTF-8 JSON. A request whose length has the top bit set (KEEP_ALIVE_BIT; the length is then the low
31 bits) asks for the connection to stay open for the next request; the ready file says `ready keep-alive`
so that a sidecar knows this runtime understands it. The request is an envelope; the response is always a JSON array, either of output
envelopes or of a single {"error": code, "details": {...}} element.
"""
from __future__ import annotations

import contextvars
import dataclasses
import datetime
import errno
import importlib
import inspect
import json
import logging
import os
import re
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

logger = logging.getLogger("asya.runtime")

HANDLER_MODES = ("payload", "envelope")
LOG_FORMATS = ("text", "json")
PROCESSING_ERROR = "processing_error"
MSG_PARSING_ERROR = "msg_parsing_error"
CONNECTION_ERROR = "connection_error"
READY_FILE_NAME = "runtime-ready"
DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024
KEEP_ALIVE_BIT = 0x80000000
READY_CONTENT = "ready keep-alive"

_HANDLER_PATTERN = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*(\.[a-zA-Z_][a-zA-Z0-9_]*)+")
_LENGTH = struct.Struct(">I")
_STRIPPED_OPTIONAL_KEYS = ("id", "parent_id", "headers")


# ---------------------------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Config:
    handler: str = ""
    handler_mode: str = "payload"
    socket_dir: str = "/var/run/asya"
    socket_name: str = "asya-runtime.sock"
    socket_chmod: Optional[int] = 0o660
    enable_validation: bool = True
    chunk_size: int = 65536
    log_level: str = "INFO"
    log_format: str = "text"
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    workers: int = 1
    parent_pipe_fd: Optional[int] = None

    @property
    def socket_path(self) -> str:
        return os.path.join(self.socket_dir, self.socket_name)

    @property
    def ready_path(self) -> str:
        return os.path.join(self.socket_dir, READY_FILE_NAME)


def parse_handler_mode(value: Optional[str]) -> str:
    mode = (value or "payload").lower()
    if mode not in HANDLER_MODES:
        raise ValueError("Invalid ASYA_HANDLER_MODE={}: not in {}".format(mode, HANDLER_MODES))
    return mode


def parse_log_format(value: Optional[str]) -> str:
    log_format = (value or "text").strip().lower()
    if log_format not in LOG_FORMATS:
        raise ValueError("Invalid ASYA_LOG_FORMAT={!r}: expected one of text, json".format(value))
    return log_format


def parse_chmod(value: Optional[str]) -> Optional[int]:
    """'0o660' and '660' are both octal; an empty value means: leave the socket's mode alone."""
    if value is None:
        return 0o660
    value = value.strip()
    if not value:
        return None
    try:
        return int(value, 8)
    except ValueError:
        raise ValueError("Invalid ASYA_SOCKET_CHMOD={!r}: expected an octal mode such as 0o660".format(value))


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError("Invalid {}={!r}: expected a positive integer".format(name, raw))
    if value < 1:
        raise ValueError("Invalid {}={!r}: expected a positive integer".format(name, raw))
    return value


# Variables of the original runtime that mean nothing here: named in a warning at startup rather than ignored
# in silence. runtime/settings.ts declares the same list (RUNTIME_SETTINGS' retired names); a test compares.
RETIRED_VARIABLES = {
    "ASYA_READY_FILE": "the ready file is always `runtime-ready` in `ASYA_SOCKET_DIR`",
    "ASYA_INCLUDE_METADATA": "never implemented by the original; `ASYA_HANDLER_MODE=envelope` hands the handler the whole envelope",
    "ASYA_CUDA_CLEANUP_ON_OOM": "never implemented, here or in the original",
}


def parse_fd(value: Optional[str]) -> Optional[int]:
    if value is None or value.strip() == "":
        return None
    try:
        fd = int(value)
    except ValueError:
        fd = -1
    if fd < 0:
        raise ValueError("Invalid ASYA_PARENT_PIPE_FD={!r}: expected an integer >= 0".format(value))
    return fd


def exit_with_parent(fd: Optional[int]) -> None:
    """
    `asya dev` hands its children a pipe (protocol/parent-pipe.ts says why a pipe) whose end of file means it
    died, however it died: exit at once, finishing nothing, since nobody is left to read the answers. Each
    pre-forked worker watches in a thread of its own (threads do not survive fork); the pool's parent forks, so
    it runs no thread (forking a threaded process risks deadlocks) and asks parent_gone() when a worker exits.
    """
    if fd is None:
        return

    def watch() -> None:
        try:
            while os.read(fd, 4096):
                pass
        except OSError:
            pass
        os._exit(0)

    threading.Thread(target=watch, name="asya-parent-pipe", daemon=True).start()


def parent_gone(fd: Optional[int]) -> bool:
    """Without blocking: whether the pipe exit_with_parent watches has reached end of file."""
    if fd is None:
        return False
    try:
        readable, _, _ = select.select([fd], [], [], 0)
        return bool(readable) and os.read(fd, 4096) == b""
    except OSError:
        return True


def retired_variable_warnings(env: Mapping[str, str]) -> List[str]:
    return [
        "{} is not read any more: {}".format(name, reason)
        for name, reason in RETIRED_VARIABLES.items()
        if (env.get(name) or "").strip()
    ]


def load_config(env: Optional[Mapping[str, str]] = None) -> Config:
    """Reads the ASYA_* variables; raises ValueError on a value that cannot be used."""
    env = os.environ if env is None else env
    return Config(
        handler=env.get("ASYA_HANDLER", ""),
        handler_mode=parse_handler_mode(env.get("ASYA_HANDLER_MODE")),
        socket_dir=env.get("ASYA_SOCKET_DIR") or "/var/run/asya",
        socket_name=env.get("ASYA_SOCKET_NAME") or "asya-runtime.sock",
        socket_chmod=parse_chmod(env.get("ASYA_SOCKET_CHMOD")),
        # Like the original, only the literal "true" enables validation.
        enable_validation=env.get("ASYA_ENABLE_VALIDATION", "true").lower() == "true",
        chunk_size=_positive_int(env, "ASYA_CHUNK_SIZE", 65536),
        log_level=(env.get("ASYA_LOG_LEVEL") or "INFO").upper(),
        log_format=parse_log_format(env.get("ASYA_LOG_FORMAT")),
        max_frame_bytes=_positive_int(env, "ASYA_MAX_FRAME_BYTES", DEFAULT_MAX_FRAME_BYTES),
        workers=_positive_int(env, "ASYA_RUNTIME_WORKERS", 1),
        parent_pipe_fd=parse_fd(env.get("ASYA_PARENT_PIPE_FD")),
    )


# ---------------------------------------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------------------------------------

# The envelope being handled, for the log lines written meanwhile (the runtime's own and the handler's).
_LOG_CONTEXT: "contextvars.ContextVar[Dict[str, str]]" = contextvars.ContextVar("asya_log_context", default={})
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(-.*)?$")
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"


def parse_traceparent(value: Any) -> Optional[Dict[str, str]]:
    """W3C trace context: {"trace_id", "span_id"}, or None when the value is not a valid traceparent."""
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    match = _TRACEPARENT.match(text)
    if not match or match.group(1) == "ff" or set(match.group(2)) == {"0"} or set(match.group(3)) == {"0"}:
        return None
    if match.group(1) == "00" and len(text) != 55:
        return None
    return {"trace_id": match.group(2), "span_id": match.group(3)}


def envelope_log_context(envelope: Any) -> Dict[str, str]:
    """envelope_id, and trace_id/span_id from headers.traceparent: the span the sidecar called us in."""
    if not isinstance(envelope, dict):
        return {}
    context: Dict[str, str] = {}
    if isinstance(envelope.get("id"), str):
        context["envelope_id"] = envelope["id"]
    headers = envelope.get("headers")
    trace = parse_traceparent(headers.get("traceparent")) if isinstance(headers, dict) else None
    if trace:
        context.update(trace)
    return context


class JsonFormatter(logging.Formatter):
    """One JSON object per line, the fields of ASYA_LOG_FORMAT=json in every other component."""

    # CRITICAL (the FATAL lines) reads as ERROR: one vocabulary of levels across components.
    _LEVELS = {"CRITICAL": "ERROR", "WARN": "WARNING"}

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
        line: Dict[str, Any] = {
            "time": stamp.strftime("%Y-%m-%dT%H:%M:%S.") + "{:03d}Z".format(int(record.msecs)),
            "level": self._LEVELS.get(record.levelname, record.levelname),
            "component": "runtime",
            "message": record.getMessage(),
        }
        line.update(_LOG_CONTEXT.get())
        if record.name != logger.name:
            line["logger"] = record.name
        line["pid"] = record.process
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, default=_safe_str, ensure_ascii=False, separators=(",", ":"))


def setup_logging(level: int, log_format: str) -> None:
    """
    The root logger, so a handler's own logging.getLogger(...) lines come out in the same format. Like
    logging.basicConfig, it leaves a root logger that someone else (a test runner) configured alone.
    """
    root = logging.getLogger()
    if any(not getattr(h, "_asya", False) for h in root.handlers):
        return
    for ours in list(root.handlers):
        root.removeHandler(ours)
    handler = logging.StreamHandler()
    handler._asya = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(_TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    if log_format == "json":
        # Python's warnings and an uncaught exception would otherwise print plain text.
        logging.captureWarnings(True)
        sys.excepthook = _log_uncaught


def _log_uncaught(kind: Any, value: BaseException, tb: Any) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    logger.critical("Uncaught exception: %s: %s", kind.__name__, _safe_str(value), exc_info=(kind, value, tb))


# ---------------------------------------------------------------------------------------------------------
# Handler loading
# ---------------------------------------------------------------------------------------------------------


class HandlerLoadError(Exception):
    pass


def _is_not_found(exc: ImportError, module_name: str) -> bool:
    """True when the import failed because module_name (or a parent package) does not exist, as opposed to
    the module existing and failing to import one of its own dependencies."""
    missing = getattr(exc, "name", None)
    if not isinstance(exc, ModuleNotFoundError) or not missing:
        return False
    return module_name == missing or module_name.startswith(missing + ".")


def _import_longest_prefix(parts: List[str]) -> tuple:
    for end in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:end])
        try:
            return importlib.import_module(module_name), parts[end:]
        except Exception as exc:
            if isinstance(exc, ImportError) and _is_not_found(exc, module_name):
                continue
            logger.debug("Importing %s failed", module_name, exc_info=True)
            raise HandlerLoadError("importing module '{}' failed: {}: {}".format(module_name, type(exc).__name__, exc))
    raise HandlerLoadError("no importable module found for '{}'".format(".".join(parts)))


def _instantiate(module: Any, class_name: str) -> Any:
    cls = getattr(module, class_name, None)
    if cls is None:
        raise HandlerLoadError("module '{}' has no attribute '{}'".format(module.__name__, class_name))
    if not inspect.isclass(cls):
        raise HandlerLoadError("'{}.{}' is not a class".format(module.__name__, class_name))
    init = cls.__init__
    if init is not object.__init__:
        try:
            params = list(inspect.signature(init).parameters.values())[1:]
        except (TypeError, ValueError):
            params = []
        variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        required = [p.name for p in params if p.default is p.empty and p.kind not in variadic]
        if required:
            raise HandlerLoadError(
                "{}.__init__ has parameters without defaults: {}".format(class_name, ", ".join(required))
            )
    try:
        return cls()
    except Exception as exc:
        logger.debug("Handler class __init__ failed", exc_info=True)
        raise HandlerLoadError("failed to instantiate {}: {}: {}".format(class_name, type(exc).__name__, exc))


def resolve_handler(spec: str) -> Callable[[Any], Any]:
    """Turns 'module.function' or 'module.Class.method' into a callable; raises HandlerLoadError."""
    if not spec:
        raise HandlerLoadError("ASYA_HANDLER not set")
    if not _HANDLER_PATTERN.fullmatch(spec):
        raise HandlerLoadError(
            "expected module.function or module.Class.method made of letters, digits and underscores"
        )
    module, rest = _import_longest_prefix(spec.split("."))
    if len(rest) == 1:
        func = getattr(module, rest[0], None)
        if func is None:
            raise HandlerLoadError("module '{}' has no attribute '{}'".format(module.__name__, rest[0]))
    elif len(rest) == 2:
        instance = _instantiate(module, rest[0])
        func = getattr(instance, rest[1], None)
        if func is None:
            raise HandlerLoadError("class '{}' has no method '{}'".format(rest[0], rest[1]))
    else:
        raise HandlerLoadError("'{}' is nested too deeply: use module.function or module.Class.method".format(
            ".".join(rest)))
    if not callable(func):
        raise HandlerLoadError("'{}' is not callable".format(spec))
    return func


MISSING_HANDLER = (
    "ASYA_HANDLER not set: give the asya-runtime container of the AsyncActor an env entry"
    " ASYA_HANDLER=module.function (or module.Class.method)"
)


def make_cwd_importable() -> None:
    """`python3 /path/asya_runtime.py` puts the runtime's own directory on sys.path, not the working
    directory, so `ASYA_HANDLER=greet.process` next to greet.py would not import the way `python3 greet.py`
    does. The working directory goes last: PYTHONPATH (the original's layout) and installed packages win."""
    cwd = os.getcwd()
    if not any(os.path.abspath(entry or os.curdir) == cwd for entry in sys.path):
        sys.path.append(cwd)


def load_handler(spec: str) -> Callable[[Any], Any]:
    """resolve_handler, but a failure logs one line and exits with status 1."""
    try:
        return resolve_handler(spec)
    except HandlerLoadError as exc:
        if spec:
            logger.critical("FATAL: cannot load ASYA_HANDLER=%r: %s", spec, exc)
        else:
            logger.critical("FATAL: %s", MISSING_HANDLER)
        sys.exit(1)


# ---------------------------------------------------------------------------------------------------------
# Envelope validation (messages are the original's, word for word)
# ---------------------------------------------------------------------------------------------------------


def json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def validate_envelope(envelope: Any, input_route: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Checks an envelope and returns a copy with only payload, route, id, parent_id and headers.

    input_route is given when checking a handler's output in envelope mode: actors up to the input's
    current index must be unchanged. A missing route.current is set to 0 in place, as the original does.
    """
    if not isinstance(envelope, dict):
        raise ValueError("Envelope must be a JSON object, got {}".format(json_type_name(envelope)))
    if "payload" not in envelope:
        raise ValueError("Missing required field 'payload' in envelope")
    if "route" not in envelope:
        raise ValueError("Missing required field 'route' in envelope")
    route = envelope["route"]
    if not isinstance(route, dict):
        raise ValueError("Field 'route' must be a dict")
    if "actors" not in route:
        raise ValueError("Missing required field 'actors' in route")
    actors = route["actors"]
    if not isinstance(actors, list):
        raise ValueError("Field 'route.actors' must be a list")
    if "current" not in route:
        route["current"] = 0
    current = route["current"]
    if not isinstance(current, int):
        raise ValueError("Field 'route.current' must be an integer")
    if not actors:
        raise ValueError("Field 'route.actors' cannot be empty")
    if current < 0 or current > len(actors):
        raise ValueError(
            "Invalid route.current={}: out of bounds for actors of length {}".format(current, len(actors))
        )
    if "headers" in envelope and not isinstance(envelope["headers"], dict):
        raise ValueError("Field 'headers' must be a dict")
    if input_route is not None:
        in_actors = input_route["actors"]
        in_current = input_route["current"]
        kept_in = in_actors[: in_current + 1]
        kept_out = actors[: in_current + 1]
        if kept_out != kept_in:
            raise ValueError(
                "Route modification error: already-processed actors cannot be erased. "
                "Input route had {} (actors 0-{}), but output route starts with {}. "
                "Runtimes can add future actors but must preserve all actors up to current.".format(
                    kept_in, in_current, kept_out
                )
            )
        if in_current < len(in_actors) and in_current < len(actors) and actors[in_current] != in_actors[in_current]:
            raise ValueError(
                "Route mismatch: input route points to '{}' at position {}, but output route has '{}' at that "
                "position. Actor cannot change its position in the route.".format(
                    in_actors[in_current], in_current, actors[in_current]
                )
            )
    if "id" in envelope and not isinstance(envelope["id"], str):
        raise ValueError("Field 'id' must be a string")
    stripped = {"payload": envelope["payload"], "route": route}
    for key in _STRIPPED_OPTIONAL_KEYS:
        if key in envelope:
            stripped[key] = envelope[key]
    return stripped


# ---------------------------------------------------------------------------------------------------------
# Responses, JSON and framing
# ---------------------------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError("Invalid JSON constant {}: envelopes must be strict JSON".format(name))


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_ENCODER = json.JSONEncoder(allow_nan=False, separators=(",", ":"))


class FrameTooLarge(Exception):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__("Frame of {} bytes exceeds the maximum of {} bytes".format(size, limit))


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return "<unprintable {}>".format(type(exc).__name__)


def error_response(code: str, exc: Optional[BaseException] = None) -> List[Dict[str, Any]]:
    if exc is None:
        return [{"error": code}]
    return [{
        "error": code,
        "details": {
            "message": _safe_str(exc),
            "type": type(exc).__name__,
            "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        },
    }]


def frame_too_large_response(exc: FrameTooLarge) -> List[Dict[str, Any]]:
    return [{"error": MSG_PARSING_ERROR, "details": {"message": str(exc), "type": "FrameTooLarge", "traceback": ""}}]


def encode_response(responses: List[Any]) -> bytes:
    """Strict JSON; a result JSON cannot carry (object(), NaN, inf, cycles) becomes a processing_error."""
    try:
        return _ENCODER.encode(responses).encode("utf-8")
    except Exception as exc:
        logger.error("Handler result is not JSON-serialisable: %s: %s", type(exc).__name__, _safe_str(exc))
        return _ENCODER.encode(error_response(PROCESSING_ERROR, exc)).encode("utf-8")


def recv_exact(sock: socket.socket, size: int, chunk_size: int = 65536) -> bytes:
    """Reads exactly size bytes in reads of at most chunk_size; ConnectionError if the peer closes first."""
    if size == 0:
        return b""
    first = sock.recv(min(size, chunk_size))
    if not first:
        raise ConnectionError("Connection closed while reading")
    if len(first) == size:
        return first
    buffer = bytearray(size)
    buffer[: len(first)] = first
    received = len(first)
    with memoryview(buffer) as view:
        while received < size:
            count = sock.recv_into(view[received:], min(size - received, chunk_size))
            if count == 0:
                raise ConnectionError("Connection closed while reading")
            received += count
    # The bytearray is returned as is: copying a large frame into bytes would cost as much as reading it.
    return buffer  # type: ignore[return-value]


def read_frame(sock: socket.socket, chunk_size: int = 65536, max_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> bytes:
    return _read(sock, chunk_size, max_bytes, False)[0]


def read_request(sock: socket.socket, chunk_size: int = 65536, max_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> Tuple[bytes, bool]:
    """One request and whether it asks for keep-alive. The bit comes off before the length is checked, so a
    keep-alive request is measured by its real length."""
    return _read(sock, chunk_size, max_bytes, True)


def _read(sock: socket.socket, chunk_size: int, max_bytes: int, request: bool) -> Tuple[bytes, bool]:
    head = sock.recv(4)
    if not head:
        exc = ConnectionError("Connection closed while reading")
        exc.before_any_data = True  # type: ignore[attr-defined]  # a dial-only readiness check, not a failure
        raise exc
    if len(head) < 4:
        head += recv_exact(sock, 4 - len(head), chunk_size)
    (size,) = _LENGTH.unpack(head)
    keep_alive = request and size >= KEEP_ALIVE_BIT
    if keep_alive:
        size -= KEEP_ALIVE_BIT
    if size > max_bytes:
        raise FrameTooLarge(size, max_bytes)
    return recv_exact(sock, size, chunk_size), keep_alive


def send_frame(sock: socket.socket, data: bytes) -> None:
    if len(data) <= 65536:
        sock.sendall(_LENGTH.pack(len(data)) + data)
    else:
        # Large bodies go in two writes rather than being copied behind the prefix.
        sock.sendall(_LENGTH.pack(len(data)))
        sock.sendall(data)


# ---------------------------------------------------------------------------------------------------------
# Pause (docs/handlers.md, "Pausing for input")
# ---------------------------------------------------------------------------------------------------------

PAUSE_HEADER = "x-asya-pause"
_PAUSE_MARKER = "__asya_pause__"
_NO_DEFAULT = object()


def pause(prompt, payload=None, schema=None, timeout_seconds=None, default=_NO_DEFAULT, input_key=None):
    """Return this from a payload-mode handler to wait for input before the next step.

    `payload` travels on; on resume the answer is added to it under `input_key` (default "resume_input").
    The marker is a plain dict, so it works whether the handler imported this module or the running copy.
    """
    spec = {"prompt": prompt}
    if schema is not None:
        spec["schema"] = schema
    if timeout_seconds is not None:
        spec["timeout_seconds"] = timeout_seconds
    if default is not _NO_DEFAULT:
        spec["default"] = default
    if input_key is not None:
        spec["input_key"] = input_key
    return {_PAUSE_MARKER: spec, "payload": payload}


def _is_pause(output: Any) -> bool:
    return isinstance(output, dict) and _PAUSE_MARKER in output


def _paused_output(output: Dict[str, Any], next_route: Dict[str, Any], headers: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    merged = dict(headers or {})
    merged[PAUSE_HEADER] = output[_PAUSE_MARKER]
    return {"payload": output.get("payload"), "route": next_route, "headers": merged}


# ---------------------------------------------------------------------------------------------------------
# Request processing
# ---------------------------------------------------------------------------------------------------------


def _as_outputs(result: Any) -> List[Any]:
    if result is None:
        return []
    if isinstance(result, list):
        return result
    if isinstance(result, tuple):
        return list(result)
    return [result]


def parse_envelope(data: bytes, validate: bool) -> Dict[str, Any]:
    envelope = _DECODER.decode(data.decode("utf-8"))
    if validate:
        return validate_envelope(envelope)
    if not isinstance(envelope, dict):
        raise ValueError("Envelope must be a JSON object, got {}".format(json_type_name(envelope)))
    return envelope


def _run_payload_mode(envelope: Dict[str, Any], func: Callable[[Any], Any]) -> List[Any]:
    route = envelope["route"]
    next_route = dict(route)
    next_route["current"] = route.get("current", 0) + 1
    outputs = _as_outputs(func(envelope["payload"]))
    if any(_is_pause(p) for p in outputs):
        headers = envelope.get("headers")
        return [_paused_output(p, next_route, headers) if _is_pause(p) else {"payload": p, "route": next_route} for p in outputs]
    if "headers" in envelope:
        headers = envelope["headers"]
        return [{"payload": p, "route": next_route, "headers": headers} for p in outputs]
    return [{"payload": p, "route": next_route} for p in outputs]


def _run_envelope_mode(envelope: Dict[str, Any], func: Callable[[Any], Any], validate: bool) -> List[Any]:
    if not validate:
        return _as_outputs(func(envelope))
    # Snapshot before the call: the handler may mutate the route object it was given.
    route = envelope["route"]
    input_route = {"actors": list(route["actors"]), "current": route["current"]}
    outputs = _as_outputs(func(envelope))
    total = len(outputs)
    checked = []
    for index, output in enumerate(outputs):
        try:
            checked.append(validate_envelope(output, input_route))
        except ValueError as exc:
            raise ValueError("Invalid output envelope[{}/{}]: {}".format(index, total, exc)) from None
    return checked


def process_message(data: bytes, func: Callable[[Any], Any], config: Config) -> List[Any]:
    """One request body in, the response list out; never raises for bad input or a failing handler."""
    try:
        envelope = parse_envelope(data, config.enable_validation)
    except Exception as exc:
        logger.warning("Rejected request: %s: %s", type(exc).__name__, _safe_str(exc))
        return error_response(MSG_PARSING_ERROR, exc)
    token = _LOG_CONTEXT.set(envelope_log_context(envelope))
    try:
        return _process_envelope(envelope, func, config)
    finally:
        _LOG_CONTEXT.reset(token)


def _process_envelope(envelope: Dict[str, Any], func: Callable[[Any], Any], config: Config) -> List[Any]:
    debug = logger.isEnabledFor(logging.DEBUG)
    if debug:
        logger.debug("Request id=%s payload=%r", envelope.get("id"), envelope.get("payload"))
    try:
        mode = config.handler_mode
        if mode == "payload":
            outputs = _run_payload_mode(envelope, func)
        elif mode == "envelope":
            outputs = _run_envelope_mode(envelope, func, config.enable_validation)
        else:
            raise ValueError("Invalid ASYA_HANDLER_MODE={}: not in {}".format(mode, HANDLER_MODES))
    except Exception as exc:
        logger.error("Handler failed: %s: %s", type(exc).__name__, _safe_str(exc))
        return error_response(PROCESSING_ERROR, exc)
    if debug:
        logger.debug("Response id=%s outputs=%d result=%r", envelope.get("id"), len(outputs), outputs)
    return outputs


def handle_connection(conn: socket.socket, func: Callable[[Any], Any], config: Config) -> None:
    """Serves one request on an accepted connection and closes it."""
    if not serve_request(conn, func, config):
        return
    conn.close()


def serve_request(conn: socket.socket, func: Callable[[Any], Any], config: Config, reused: bool = False) -> bool:
    """Serves one request; True when the client asked for keep-alive and the connection is open for its next
    request. Otherwise the connection is closed."""
    keep_alive = False
    try:
        try:
            data, keep_alive = read_request(conn, config.chunk_size, config.max_frame_bytes)
        except FrameTooLarge as exc:
            logger.warning("Rejected request: %s", exc)
            body = encode_response(frame_too_large_response(exc))
        except Exception as exc:
            closed_between_requests = getattr(exc, "before_any_data", False)
            if reused and closed_between_requests:
                # A kept-alive connection the client closed after its last answer: done, not failed.
                conn.close()
                return False
            level = logging.DEBUG if closed_between_requests else logging.WARNING
            logger.log(level, "Failed to read request: %s: %s", type(exc).__name__, _safe_str(exc))
            body = encode_response(error_response(CONNECTION_ERROR, exc))
        else:
            body = encode_response(process_message(data, func, config))
        send_frame(conn, body)
        if keep_alive:
            return True
    except (BrokenPipeError, ConnectionResetError):
        logger.debug("Client disconnected before the response was sent")
    except Exception:
        logger.exception("Failed to send response")
    conn.close()
    return False


# ---------------------------------------------------------------------------------------------------------
# Socket and lifecycle
# ---------------------------------------------------------------------------------------------------------


def setup_socket(path: str, chmod: Optional[int] = 0o660, backlog: int = 128) -> socket.socket:
    """Binds a listening Unix socket at path, replacing a stale one; a directory at path raises OSError."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        sock.listen(backlog)
        if chmod is not None:
            os.chmod(path, chmod)
    except BaseException:
        sock.close()
        raise
    return sock


def write_ready_file(path: str) -> Optional[int]:
    """Writes the ready file atomically; returns the file's inode so cleanup removes only our own file."""
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        temporary = "{}.{}.tmp".format(path, os.getpid())
        with open(temporary, "w") as handle:
            # The first word stays `ready` for anything that reads the original's file.
            handle.write(READY_CONTENT)
        os.replace(temporary, path)
        return os.stat(path).st_ino
    except OSError as exc:
        logger.error("Failed to write ready file %s: %s", path, exc)
        return None


def _unlink_if_ours(path: str, inode: Optional[int]) -> None:
    """A replacement runtime may already have bound the same path; its files are not ours to remove."""
    try:
        if inode is not None and os.stat(path).st_ino != inode:
            return
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        logger.warning("Failed to remove %s: %s", path, exc)


class Server:
    """Accept loop. stop() closes the listening socket: an in-flight request finishes, and serve_forever()
    returns.

    A keep-alive client holds its connection between requests. The worker waits on that connection and on
    the listening socket together, and holds at most one such connection: a worker that kept several would
    serve them one after another while other workers idle. When a new connection comes, the worker that wins
    its accept drops its idle one; nothing of a next request has been read from it, so the client sees EPIPE
    or ECONNRESET and may send it again (sidecar/runtime-client.ts). The listening socket is non-blocking
    because every idle worker wakes for a new connection and only one gets it."""

    def __init__(self, sock: socket.socket, func: Callable[[Any], Any], config: Config) -> None:
        self.sock = sock
        self.func = func
        self.config = config
        self.stopping = False

    def stop(self, *_: Any) -> None:
        self.stopping = True
        try:
            self.sock.close()
        except OSError:
            pass

    def _accept(self) -> Optional[socket.socket]:
        try:
            conn, _ = self.sock.accept()
        except (BlockingIOError, InterruptedError):
            return None  # another worker took it
        except OSError as exc:
            if self.stopping:
                return None
            if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                logger.error("accept() failed: %s; retrying", exc)
                time.sleep(0.1)
                return None
            if exc.errno == errno.ECONNABORTED:
                return None
            raise
        conn.setblocking(True)
        return conn

    def serve_forever(self) -> None:
        func = self.func
        config = self.config
        # A stop signal must end select() at once; without this, Python resumes the select after the handler.
        wake_read, wake_write = socket.socketpair()
        wake_read.setblocking(False)
        wake_write.setblocking(False)
        previous_wakeup = _set_wakeup_fd(wake_write.fileno())
        kept: Optional[socket.socket] = None
        try:
            self.sock.setblocking(False)
            while not self.stopping:
                watched = [self.sock, wake_read] if kept is None else [self.sock, wake_read, kept]
                try:
                    readable, _, _ = select.select(watched, [], [])
                except (OSError, ValueError):
                    if self.stopping:
                        return
                    raise
                if self.stopping:
                    return
                if kept is not None and kept in readable:
                    if not serve_request(kept, func, config, reused=True):
                        kept = None
                    continue
                if self.sock in readable:
                    conn = self._accept()
                    if conn is None:
                        continue
                    if kept is not None:
                        kept.close()
                    kept = conn if serve_request(conn, func, config) else None
                if wake_read in readable:
                    try:
                        wake_read.recv(64)
                    except OSError:
                        pass
        finally:
            if kept is not None:
                kept.close()
            _set_wakeup_fd(previous_wakeup)
            wake_read.close()
            wake_write.close()


def _set_wakeup_fd(fd: int) -> int:
    try:
        return signal.set_wakeup_fd(fd)
    except ValueError:
        return -1  # not the main thread (tests): stop() then takes effect with the next connection


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _serve_single(sock: socket.socket, func: Callable[[Any], Any], config: Config) -> None:
    server = Server(sock, func, config)
    for signum in _STOP_SIGNALS:
        signal.signal(signum, server.stop)
    ready_inode = write_ready_file(config.ready_path)
    logger.info("Runtime ready on %s", config.socket_path)
    try:
        server.serve_forever()
    finally:
        server.stop()
        _unlink_if_ours(config.ready_path, ready_inode)


def _describe_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return "killed by signal {}".format(os.WTERMSIG(status))
    return "exit code {}".format(os.WEXITSTATUS(status))


class _WorkerPool:
    """Pre-forked workers accepting on one shared listening socket; the parent only supervises."""

    def __init__(self, sock: socket.socket, func: Callable[[Any], Any], config: Config) -> None:
        self.sock = sock
        self.func = func
        self.config = config
        self.workers: Dict[int, float] = {}
        self.stopping = False

    def _worker_main(self) -> None:
        exit_with_parent(self.config.parent_pipe_fd)
        server = Server(self.sock, self.func, self.config)
        for signum in _STOP_SIGNALS:
            signal.signal(signum, server.stop)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
        server.serve_forever()

    def spawn(self) -> None:
        # Signals stay blocked across fork so a stop request cannot miss a worker the parent has not
        # recorded yet, and so a new worker cannot run the parent's handler. A stop that arrived just
        # before the block has run its handler by the time pthread_sigmask returns.
        signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            if self.stopping:
                return
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    self._worker_main()
                except BaseException:
                    logger.exception("Worker %d crashed", os.getpid())
                    code = 1
                finally:
                    # Nothing may raise past this point: the child must never return into the parent's loop.
                    for stream in (sys.stdout, sys.stderr):
                        try:
                            stream.flush()
                        except Exception:
                            pass
                    os._exit(code)
            self.workers[pid] = time.monotonic()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)

    def stop(self, *_: Any) -> None:
        self.stopping = True
        for pid in list(self.workers):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def run(self) -> None:
        for signum in _STOP_SIGNALS:
            signal.signal(signum, self.stop)
        for _ in range(self.config.workers):
            self.spawn()
        ready_inode = write_ready_file(self.config.ready_path)
        logger.info("Runtime ready on %s with %d workers", self.config.socket_path, self.config.workers)
        try:
            while self.workers:
                try:
                    pid, status = os.wait()
                except ChildProcessError:
                    break
                started = self.workers.pop(pid, None)
                if started is None or self.stopping:
                    continue
                if parent_gone(self.config.parent_pipe_fd):
                    # The workers exit by themselves on the same end of file; none is started again.
                    self.stopping = True
                    continue
                logger.error("Worker %d exited unexpectedly (%s); restarting it", pid, _describe_status(status))
                if time.monotonic() - started < 1.0:
                    time.sleep(1.0)  # a worker that dies at once would otherwise be restarted in a tight loop
                if not self.stopping:
                    self.spawn()
        finally:
            self.sock.close()
            _unlink_if_ours(self.config.ready_path, ready_inode)


def main() -> int:
    try:
        config = load_config()
    except ValueError as exc:
        # The format as far as it can be read: the problem may be ASYA_LOG_FORMAT itself.
        wanted = (os.environ.get("ASYA_LOG_FORMAT") or "").strip().lower()
        setup_logging(logging.INFO, "json" if wanted == "json" else "text")
        logger.critical("FATAL: %s", exc)
        return 1
    level = logging.getLevelName(config.log_level)
    setup_logging(level if isinstance(level, int) else logging.INFO, config.log_format)
    if not isinstance(level, int):
        logger.warning("Unknown ASYA_LOG_LEVEL=%s; using INFO", config.log_level)
    for warning in retired_variable_warnings(os.environ):
        logger.warning("%s", warning)
    logger.info(
        "Starting runtime: handler=%s mode=%s validation=%s socket=%s chmod=%s workers=%d max_frame_bytes=%d",
        config.handler, config.handler_mode, config.enable_validation, config.socket_path,
        "none" if config.socket_chmod is None else oct(config.socket_chmod), config.workers,
        config.max_frame_bytes,
    )
    if config.parent_pipe_fd is not None:
        try:
            os.fstat(config.parent_pipe_fd)  # missing is a mistake to report, not a parent that died
        except OSError as exc:
            logger.critical("FATAL: cannot watch ASYA_PARENT_PIPE_FD=%s: %s", config.parent_pipe_fd, exc)
            return 1
    if config.workers == 1:
        # Before the handler loads: a parent that dies meanwhile (a slow import) must not leave us behind.
        exit_with_parent(config.parent_pipe_fd)
    make_cwd_importable()
    func = load_handler(config.handler)
    try:
        sock = setup_socket(config.socket_path, config.socket_chmod)
    except OSError as exc:
        logger.critical("FATAL: cannot listen on %s: %s", config.socket_path, exc)
        return 1
    socket_inode = os.stat(config.socket_path).st_ino
    try:
        if config.workers > 1:
            _WorkerPool(sock, func, config).run()
        else:
            _serve_single(sock, func, config)
    finally:
        _unlink_if_ours(config.socket_path, socket_inode)
    logger.info("Runtime stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
