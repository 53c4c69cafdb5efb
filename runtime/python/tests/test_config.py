import ast
import os
import subprocess
import sys

import pytest

import asya_runtime
from asya_runtime import load_config, parse_chmod, parse_handler_mode
from support import RUNTIME_SCRIPT


def test_defaults():
    config = load_config({})
    assert config.handler == ""
    assert config.handler_mode == "payload"
    assert config.socket_dir == "/var/run/asya"
    assert config.socket_name == "asya-runtime.sock"
    assert config.socket_path == "/var/run/asya/asya-runtime.sock"
    assert config.ready_path == "/var/run/asya/runtime-ready"
    assert config.socket_chmod == 0o660
    assert config.enable_validation is True
    assert config.chunk_size == 65536
    assert config.log_level == "INFO"
    assert config.max_frame_bytes == 64 * 1024 * 1024
    assert config.workers == 1
    assert config.parent_pipe_fd is None  # started by a pod or the sidecar: no parent to watch


@pytest.mark.parametrize("value, mode", [(None, "payload"), ("", "payload"), ("payload", "payload"),
                                         ("PAYLOAD", "payload"), ("envelope", "envelope"), ("Envelope", "envelope")])
def test_handler_mode_is_case_insensitive(value, mode):
    assert parse_handler_mode(value) == mode


def test_parent_pipe_fd_is_read_and_checked():
    assert load_config({"ASYA_PARENT_PIPE_FD": "3"}).parent_pipe_fd == 3
    assert load_config({"ASYA_PARENT_PIPE_FD": " "}).parent_pipe_fd is None
    for bad in ("three", "-1"):
        with pytest.raises(ValueError, match="ASYA_PARENT_PIPE_FD"):
            load_config({"ASYA_PARENT_PIPE_FD": bad})


def test_retired_variables_are_named_in_warnings_not_ignored():
    assert asya_runtime.retired_variable_warnings({"ASYA_HANDLER": "m.f", "ASYA_READY_FILE": "/tmp/ready", "ASYA_INCLUDE_METADATA": " "}) == [
        "ASYA_READY_FILE is not read any more: the ready file is always `runtime-ready` in `ASYA_SOCKET_DIR`",
    ]


def test_invalid_handler_mode_raises():
    with pytest.raises(ValueError, match=r"^Invalid ASYA_HANDLER_MODE=invalid: not in \('payload', 'envelope'\)$"):
        load_config({"ASYA_HANDLER_MODE": "invalid"})


@pytest.mark.parametrize("value, expected", [("true", True), ("TRUE", True), ("True", True), ("false", False),
                                             ("1", False), ("yes", False), ("", False)])
def test_validation_only_for_literal_true(value, expected):
    assert load_config({"ASYA_ENABLE_VALIDATION": value}).enable_validation is expected


@pytest.mark.parametrize("value, expected", [(None, 0o660), ("0o660", 0o660), ("666", 0o666), ("0o666", 0o666),
                                             ("0o600", 0o600), ("600", 0o600), ("", None), ("  ", None)])
def test_chmod_parsing(value, expected):
    assert parse_chmod(value) == expected


def test_invalid_chmod_raises():
    with pytest.raises(ValueError, match="ASYA_SOCKET_CHMOD"):
        load_config({"ASYA_SOCKET_CHMOD": "rw-rw----"})


def test_numeric_settings():
    config = load_config({"ASYA_CHUNK_SIZE": "8192", "ASYA_MAX_FRAME_BYTES": "1024", "ASYA_RUNTIME_WORKERS": "3"})
    assert (config.chunk_size, config.max_frame_bytes, config.workers) == (8192, 1024, 3)


@pytest.mark.parametrize("name", ["ASYA_CHUNK_SIZE", "ASYA_MAX_FRAME_BYTES", "ASYA_RUNTIME_WORKERS"])
@pytest.mark.parametrize("value", ["0", "-1", "lots"])
def test_invalid_numeric_settings_raise(name, value):
    with pytest.raises(ValueError, match=name):
        load_config({name: value})


def test_socket_dir_and_name(short_dir):
    config = load_config({"ASYA_SOCKET_DIR": short_dir, "ASYA_SOCKET_NAME": "echo.sock"})
    assert config.socket_path == os.path.join(short_dir, "echo.sock")
    assert config.ready_path == os.path.join(short_dir, "runtime-ready")


def test_config_follows_environment_changes(monkeypatch):
    monkeypatch.setenv("ASYA_SOCKET_CHMOD", "0o600")
    monkeypatch.setenv("ASYA_CHUNK_SIZE", "8192")
    monkeypatch.setenv("ASYA_LOG_LEVEL", "debug")
    config = load_config()
    assert (config.socket_chmod, config.chunk_size, config.log_level) == (0o600, 8192, "DEBUG")
    monkeypatch.setenv("ASYA_CHUNK_SIZE", "4096")
    assert load_config().chunk_size == 4096


def test_import_has_no_side_effects(short_dir):
    env = dict(os.environ, ASYA_HANDLER="no_such_module.func", ASYA_SOCKET_DIR=short_dir,
               PYTHONPATH=os.path.dirname(RUNTIME_SCRIPT))
    result = subprocess.run([sys.executable, "-c", "import asya_runtime"], env=env, capture_output=True, timeout=30)
    assert result.returncode == 0
    assert result.stdout == b"" and result.stderr == b""
    assert os.listdir(short_dir) == []


def test_source_parses_as_python_3_8():
    with open(asya_runtime.__file__, encoding="utf-8") as handle:
        ast.parse(handle.read(), feature_version=(3, 8))
