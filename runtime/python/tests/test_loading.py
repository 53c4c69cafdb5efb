import logging
import os
import textwrap
import uuid

import pytest

from asya_runtime import load_handler

import fixtures


@pytest.fixture
def module_dir(tmp_path, monkeypatch):
    """Writes a throwaway handler module with a unique name and returns that name."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(source):
        name = "handler_{}".format(uuid.uuid4().hex[:10])
        (tmp_path / (name + ".py")).write_text(textwrap.dedent(source))
        return name

    return write


def fails_to_load(spec, caplog):
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="asya.runtime"):
        with pytest.raises(SystemExit) as exited:
            load_handler(spec)
    assert exited.value.code == 1
    fatal = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(fatal) == 1, [r.getMessage() for r in fatal]
    return fatal[0].getMessage()


def test_function_handler():
    assert load_handler("fixtures.echo") is fixtures.echo
    assert load_handler("fixtures.echo")({"a": 1}) == {"a": 1}


def test_class_handler_is_instantiated_once_and_keeps_state():
    process = load_handler("fixtures.Counter.process")
    assert isinstance(process.__self__, fixtures.Counter)
    assert process({"request_id": "r1"}) == {"count": 1, "request_id": "r1"}
    assert process({}) == {"count": 2, "request_id": None}


def test_package_module_resolution(tmp_path, monkeypatch):
    package = tmp_path / "pkg_{}".format(uuid.uuid4().hex[:8])
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "handlers.py").write_text(textwrap.dedent("""
        def func(p):
            return "func"
        class Model:
            def __init__(self, size=3, *args, **kwargs):
                self.size = size
            def predict(self, p):
                return self.size
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert load_handler(package.name + ".sub.handlers.func")(None) == "func"
    assert load_handler(package.name + ".sub.handlers.Model.predict")(None) == 3


def test_class_without_init_is_accepted(module_dir):
    name = module_dir("""
        class Plain:
            def process(self, p):
                return "plain"
    """)
    assert load_handler(name + ".Plain.process")(None) == "plain"


@pytest.mark.parametrize("spec", ["", "invalid", "invalid_no_dot", "../etc/passwd", "os;rm -rf /",
                                  "__import__('os').system('cmd')", "my-module.func", "my module.func",
                                  "fixtures.echo\n", ".fixtures.echo", "fixtures..echo", "1fixtures.echo"])
def test_rejected_handler_strings(spec, caplog):
    message = fails_to_load(spec, caplog)
    assert "FATAL" in message


def test_missing_handler_message(caplog):
    message = fails_to_load("", caplog)
    assert message.startswith("FATAL: ASYA_HANDLER not set: give the asya-runtime container of the AsyncActor")
    assert "ASYA_HANDLER=module.function" in message


def test_unknown_module(caplog):
    assert "no importable module" in fails_to_load("no_such_module_xyz.func", caplog)


def test_unknown_attribute(caplog):
    assert "has no attribute 'missing'" in fails_to_load("fixtures.missing", caplog)


def test_non_callable_attribute(caplog):
    assert "not callable" in fails_to_load("fixtures.not_callable", caplog)


def test_missing_method(caplog):
    assert "has no method 'missing'" in fails_to_load("fixtures.Counter.missing", caplog)


def test_non_callable_method(module_dir, caplog):
    name = module_dir("""
        class Holder:
            process = 42
    """)
    assert "not callable" in fails_to_load(name + ".Holder.process", caplog)


def test_attribute_that_is_not_a_class(caplog):
    assert "is not a class" in fails_to_load("fixtures.echo.process", caplog)


def test_too_deep_attribute_path(caplog):
    assert "nested too deeply" in fails_to_load("fixtures.Counter.process.extra", caplog)


def test_required_init_parameter(caplog):
    message = fails_to_load("fixtures.NeedsArg.process", caplog)
    assert "parameters without defaults: required" in message


def test_init_raising(module_dir, caplog):
    name = module_dir("""
        class Broken:
            def __init__(self):
                raise RuntimeError("no GPU")
            def process(self, p):
                return p
    """)
    message = fails_to_load(name + ".Broken.process", caplog)
    assert "failed to instantiate Broken: RuntimeError: no GPU" in message


def test_module_with_a_missing_dependency_reports_the_dependency(module_dir, caplog):
    name = module_dir("""
        import no_such_dependency_abc
        def func(p):
            return p
    """)
    message = fails_to_load(name + ".func", caplog)
    assert "no_such_dependency_abc" in message and "ModuleNotFoundError" in message


def test_module_raising_at_import(module_dir, caplog):
    name = module_dir("""
        raise RuntimeError("refusing to import")
    """)
    assert "RuntimeError: refusing to import" in fails_to_load(name + ".func", caplog)


def test_module_with_syntax_error(module_dir, caplog):
    name = module_dir("""
        def func(p)
            return p
    """)
    assert "SyntaxError" in fails_to_load(name + ".func", caplog)
