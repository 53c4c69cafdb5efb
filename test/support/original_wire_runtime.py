"""
A stand-in for the original asya_runtime.py that answers with its exact wire bytes (docs/compatibility.md,
"Kept identical"): json.dumps with Python's defaults (ASCII escapes, ", " and ": "
separators, NaN allowed), errors as [{"error", "details": {message, type, traceback}}], and a closed
connection without any answer when a result cannot be serialised. The scenario is chosen by
payload["scenario"]. The original file itself cannot be fetched on CI machines, so this reproduces its
observable bytes for the sidecar's compatibility tests.
"""
import json
import os
import socket
import struct

SOCKET_DIR = os.environ.get("ASYA_SOCKET_DIR", "/var/run/asya")
SOCKET_PATH = os.path.join(SOCKET_DIR, "asya-runtime.sock")
TRACEBACK = 'Traceback (most recent call last):\n  File "/app/handler.py", line 3, in process\n    raise ValueError("Intentional test failure")\nValueError: Intentional test failure\n'


def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(min(n - len(data), 65536))
        if not chunk:
            raise ConnectionError("Connection closed while reading")
        data += chunk
    return data


def advanced(envelope):
    route = dict(envelope["route"])
    route["current"] = route.get("current", 0) + 1
    return route


def answer(raw):
    envelope = json.loads(raw.decode("utf-8"))
    scenario = envelope["payload"].get("scenario")
    route = advanced(envelope)
    if scenario == "echo":
        return json.dumps([{"payload": envelope["payload"], "route": route}])
    if scenario == "raw":
        return json.dumps([{"payload": {"request": raw.decode("utf-8")}, "route": route}])
    if scenario == "fanout":
        return json.dumps([{"payload": {"i": i}, "route": route} for i in range(3)])
    if scenario == "empty":
        return json.dumps([])
    if scenario == "error":
        details = {"message": "Intentional test failure", "type": "ValueError", "traceback": TRACEBACK}
        return json.dumps([{"error": "processing_error", "details": details}])
    if scenario == "nan":
        return json.dumps([{"payload": {"score": float("nan")}, "route": route}])
    if scenario == "no_answer":
        return None
    raise SystemExit("unknown scenario %r" % scenario)


def main():
    os.makedirs(SOCKET_DIR, exist_ok=True)
    if os.path.exists(SOCKET_PATH):
        os.unlink(SOCKET_PATH)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(SOCKET_PATH)
    server.listen(5)
    os.chmod(SOCKET_PATH, 0o666)
    with open(os.path.join(SOCKET_DIR, "runtime-ready"), "w") as ready:
        ready.write("ready")
    while True:
        conn, _ = server.accept()
        try:
            header = recv_exact(conn, 4)
            raw = recv_exact(conn, struct.unpack(">I", header)[0])
            response = answer(raw)
            if response is not None:
                data = response.encode("utf-8")
                conn.sendall(struct.pack(">I", len(data)) + data)
        except ConnectionError:
            pass
        finally:
            conn.close()


if __name__ == "__main__":
    main()
