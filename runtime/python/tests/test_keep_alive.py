"""Keep-alive requests (the top bit of the length prefix) on one connection, and what ends such a connection."""
import json
import socket
import struct
import threading

import fixtures
from asya_runtime import KEEP_ALIVE_BIT, FrameTooLarge, read_request, serve_request
from support import envelope, make_config


def frame(body, keep_alive=True):
    return struct.pack(">I", len(body) | (KEEP_ALIVE_BIT if keep_alive else 0)) + body


def read_response(sock):
    head = b""
    while len(head) < 4:
        chunk = sock.recv(4 - len(head))
        assert chunk, "connection closed before a response"
        head += chunk
    (size,) = struct.unpack(">I", head)
    assert size < KEEP_ALIVE_BIT, "a response never carries the keep-alive bit"
    body = b""
    while len(body) < size:
        body += sock.recv(size - len(body))
    return json.loads(body)


def serve_in_thread(conn, results, **overrides):
    """Plays the worker's loop for one connection: serve while the client asks to keep it."""
    def loop():
        reused = False
        while True:
            kept = serve_request(conn, fixtures.echo, make_config(**overrides), reused=reused)
            results.append(kept)
            if not kept:
                return
            reused = True
    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def body(n):
    return json.dumps(envelope({"n": n})).encode("utf-8")


def test_several_requests_on_one_connection_then_a_plain_one_closes_it():
    server, client = socket.socketpair()
    results = []
    worker = serve_in_thread(server, results)
    with client:
        for n in range(3):
            client.sendall(frame(body(n)))
            assert read_response(client)[0]["payload"] == {"n": n}
        client.sendall(frame(body(3), keep_alive=False))
        assert read_response(client)[0]["payload"] == {"n": 3}
        assert client.recv(1) == b""  # closed after the request without the bit
    worker.join(10)
    assert results == [True, True, True, False]


def test_client_closing_between_requests_ends_the_connection_quietly(caplog):
    server, client = socket.socketpair()
    results = []
    worker = serve_in_thread(server, results)
    client.sendall(frame(body(1)))
    assert read_response(client)[0]["payload"] == {"n": 1}
    client.close()
    worker.join(10)
    assert results == [True, False]
    assert "Failed to read request" not in caplog.text


def test_a_bad_frame_on_a_kept_connection_is_answered_and_closes_it():
    server, client = socket.socketpair()
    results = []
    worker = serve_in_thread(server, results, max_frame_bytes=1024)
    with client:
        client.sendall(frame(b"{not json"))
        assert read_response(client)[0]["error"] == "msg_parsing_error"  # read whole: the stream is still in step
        client.sendall(struct.pack(">I", KEEP_ALIVE_BIT | 4096))
        response = read_response(client)[0]
        assert response["details"]["type"] == "FrameTooLarge"
        assert client.recv(1) == b""
    worker.join(10)
    assert results == [True, False]


def test_the_length_check_uses_the_low_31_bits_only_for_requests():
    a, b = socket.socketpair()
    with a, b:
        # Without the bit taken off, every keep-alive request would look over 2 GiB and be refused.
        a.sendall(frame(b"x" * 100))
        assert read_request(b, max_bytes=100) == (b"x" * 100, True)
        a.sendall(struct.pack(">I", KEEP_ALIVE_BIT | 101))
        try:
            read_request(b, max_bytes=100)
        except FrameTooLarge as exc:
            assert "101 bytes" in str(exc)
        else:
            raise AssertionError("a keep-alive request over the maximum was read")
