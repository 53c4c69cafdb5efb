"""The runtime as the sidecar sees it: a separate process behind a Unix socket."""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from support import HANDLERS_DIR, RUNTIME_SCRIPT


class Runtime:
    def __init__(self, directory, handler, extra_path=None, **env):
        self.dir = directory
        self.socket_path = os.path.join(directory, "asya-runtime.sock")
        self.ready_path = os.path.join(directory, "runtime-ready")
        python_path = [HANDLERS_DIR] + ([extra_path] if extra_path else [])
        full_env = dict(os.environ, PYTHONPATH=os.pathsep.join(python_path), ASYA_HANDLER=handler,
                        ASYA_SOCKET_DIR=directory, **env)
        # A session of its own, so teardown can kill any worker the runtime leaves behind.
        self.proc = subprocess.Popen([sys.executable, RUNTIME_SCRIPT], env=full_env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)

    def wait_ready(self, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.ready_path) and os.path.exists(self.socket_path):
                return self
            if self.proc.poll() is not None:
                pytest.fail("runtime exited early: {}".format(self.proc.communicate()[1].decode()))
            time.sleep(0.02)
        pytest.fail("runtime not ready after {}s".format(timeout))

    def call(self, payload, timeout=20):
        body = json.dumps({"id": "m", "route": {"actors": ["a"], "current": 0}, "payload": payload}).encode()
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(timeout)
            sock.connect(self.socket_path)
            sock.sendall(struct.pack(">I", len(body)) + body)
            raw = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                raw += chunk
        (size,) = struct.unpack(">I", raw[:4])
        return json.loads(raw[4:4 + size])

    def stop(self, signum=signal.SIGTERM, timeout=20):
        self.proc.send_signal(signum)
        _, stderr = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, stderr.decode()

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.communicate(timeout=20)


@pytest.fixture
def runtimes():
    started = []

    def start(*args, **kwargs):
        runtime = Runtime(*args, **kwargs)
        started.append(runtime)
        return runtime

    yield start
    for runtime in started:
        runtime.kill()


def in_threads(count, target):
    results = [None] * count

    def run(index):
        try:
            results[index] = target(index)
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    failures = [r for r in results if isinstance(r, Exception)]
    assert not failures, failures
    return results


def wait_until_dead(pid, timeout=10):
    """A killed worker is gone once it is a zombie; until then it may still accept one last connection."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open("/proc/{}/stat".format(pid)) as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return
        except FileNotFoundError:
            return
        time.sleep(0.01)
    pytest.fail("process {} still alive".format(pid))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serves_and_stops_cleanly(short_dir, runtimes, signum):
    runtime = runtimes(short_dir, "fixtures.echo").wait_ready()
    assert runtime.call({"message": "hello"}) == [{"payload": {"message": "hello"},
                                                   "route": {"actors": ["a"], "current": 1}}]
    code, stderr = runtime.stop(signum)
    assert code == 0, stderr
    assert os.listdir(short_dir) == []


def test_logs_no_payloads_at_info(short_dir, runtimes):
    runtime = runtimes(short_dir, "fixtures.echo").wait_ready()
    runtime.call({"secret": "hunter2"})
    code, stderr = runtime.stop()
    assert code == 0 and "hunter2" not in stderr


def test_logs_payloads_at_debug(short_dir, runtimes):
    runtime = runtimes(short_dir, "fixtures.echo", ASYA_LOG_LEVEL="DEBUG").wait_ready()
    runtime.call({"secret": "hunter2"})
    code, stderr = runtime.stop()
    assert code == 0 and "hunter2" in stderr


def accepts(socket_path):
    """True while something listens on the socket path."""
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(socket_path)
            return True
        except OSError:
            return False


def wait_for(condition, what, timeout=20):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("{} not seen within {}s".format(what, timeout))
        time.sleep(0.02)


def started_calls(gate_dir):
    try:
        with open(os.path.join(gate_dir, "started")) as handle:
            return handle.read().split()
    except FileNotFoundError:
        return []


def test_in_flight_request_finishes_after_sigterm(short_dir, tmp_path, runtimes):
    runtime = runtimes(short_dir, "fixtures.gated").wait_ready()
    gate = {"gate_dir": str(tmp_path)}
    result = {}
    caller = threading.Thread(target=lambda: result.update(response=runtime.call(gate)))
    caller.start()
    wait_for(lambda: len(started_calls(str(tmp_path))) == 1, "the call held in the handler")
    runtime.proc.send_signal(signal.SIGTERM)
    # The runtime has taken the signal (it no longer accepts) while the handler is still held.
    wait_for(lambda: not accepts(runtime.socket_path), "the runtime to stop accepting")
    (tmp_path / "open").touch()
    caller.join(20)
    assert result["response"][0]["payload"] == gate
    _, stderr = runtime.proc.communicate(timeout=20)
    assert runtime.proc.returncode == 0, stderr.decode()
    assert os.listdir(short_dir) == []


def test_class_handler_state_persists_across_connections(short_dir, runtimes):
    runtime = runtimes(short_dir, "fixtures.Counter.process").wait_ready()
    counts = [runtime.call({"request_id": i})[0]["payload"] for i in range(5)]
    assert counts == [{"count": i + 1, "request_id": i} for i in range(5)]
    assert runtime.stop()[0] == 0


def test_workers_serve_concurrently_and_stop_cleanly(short_dir, tmp_path, runtimes):
    runtime = runtimes(short_dir, "fixtures.gated", ASYA_RUNTIME_WORKERS="2").wait_ready()
    gate = {"gate_dir": str(tmp_path)}
    held = {}
    callers = [threading.Thread(target=lambda i=i: held.update({i: runtime.call(gate)})) for i in range(2)]
    for caller in callers:
        caller.start()
    # Both calls are inside the handler at once, each in its own worker process.
    wait_for(lambda: len(started_calls(str(tmp_path))) == 2, "two calls held at the same time")
    assert len(set(started_calls(str(tmp_path)))) == 2
    (tmp_path / "open").touch()
    for caller in callers:
        caller.join(20)
    assert [held[i][0]["payload"] for i in range(2)] == [gate, gate]

    many = in_threads(40, lambda i: runtime.call(dict(gate, i=i)))
    assert [r for r in many] == [[{"payload": dict(gate, i=i), "route": {"actors": ["a"], "current": 1}}] for i in range(40)]

    code, stderr = runtime.stop()
    assert code == 0, stderr
    assert not os.path.exists(runtime.socket_path)
    assert not os.path.exists(runtime.ready_path)


def test_dead_worker_is_replaced(short_dir, tmp_path, runtimes):
    (tmp_path / "whoami.py").write_text(textwrap.dedent("""
        import os
        def pid(payload):
            return {"pid": os.getpid()}
    """))
    runtime = runtimes(short_dir, "whoami.pid", extra_path=str(tmp_path), ASYA_RUNTIME_WORKERS="2").wait_ready()
    victim = runtime.call({})[0]["payload"]["pid"]
    assert victim != runtime.proc.pid
    os.kill(victim, signal.SIGKILL)
    wait_until_dead(victim)

    seen = set()
    deadline = time.monotonic() + 15
    while len(seen) < 2 and time.monotonic() < deadline:
        seen.update(r[0]["payload"]["pid"] for r in in_threads(4, lambda i: runtime.call({})))
    assert victim not in seen
    assert len(seen) == 2, "expected a replacement worker next to the survivor, saw {}".format(seen)

    code, stderr = runtime.stop()
    assert code == 0, stderr
    assert "exited unexpectedly" in stderr
    assert os.listdir(short_dir) == []


@pytest.mark.parametrize("handler, fragment", [
    ("fixtures.no_such_function", "has no attribute 'no_such_function'"),
    ("os;rm -rf /", "FATAL"),
    ("fixtures.NeedsArg.process", "parameters without defaults"),
])
def test_bad_handler_exits_1_without_binding(short_dir, runtimes, handler, fragment):
    runtime = runtimes(short_dir, handler)
    _, stderr = runtime.proc.communicate(timeout=20)
    assert runtime.proc.returncode == 1
    assert fragment in stderr.decode()
    assert os.listdir(short_dir) == []


def test_invalid_mode_exits_1(short_dir, runtimes):
    runtime = runtimes(short_dir, "fixtures.echo", ASYA_HANDLER_MODE="streaming")
    _, stderr = runtime.proc.communicate(timeout=20)
    assert runtime.proc.returncode == 1
    assert "Invalid ASYA_HANDLER_MODE=streaming: not in ('payload', 'envelope')" in stderr.decode()
