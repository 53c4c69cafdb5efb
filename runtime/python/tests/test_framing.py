import json
import logging
import socket
import struct
import threading

import pytest

import fixtures
from asya_runtime import FrameTooLarge, handle_connection, read_frame, recv_exact, send_frame
from support import envelope, make_config


def in_thread(target, *args):
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def read_all(sock):
    chunks = []
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def decode_response(raw):
    (size,) = struct.unpack(">I", raw[:4])
    assert len(raw) == 4 + size
    return json.loads(raw[4:])


def serve_one(request, func=fixtures.echo, partial=False, **overrides):
    """Runs handle_connection on one end of a socketpair and plays the sidecar on the other."""
    server, client = socket.socketpair()
    worker = in_thread(handle_connection, server, func, make_config(**overrides))
    try:
        if partial:
            client.sendall(request)
        else:
            client.sendall(struct.pack(">I", len(request)) + request)
        client.shutdown(socket.SHUT_WR)
        raw = read_all(client)
    finally:
        worker.join(10)
        client.close()
    return decode_response(raw)


def request_body(payload, **extra):
    return json.dumps(envelope(payload, **extra)).encode("utf-8")


def test_recv_exact_reads_across_several_sends():
    a, b = socket.socketpair()
    with a, b:
        def trickle():
            for piece in (b"he", b"llo", b" wor", b"ld"):
                b.sendall(piece)
        in_thread(trickle)
        assert recv_exact(a, 11, chunk_size=4) == b"hello world"


def test_recv_exact_reassembles_a_one_byte_trickle():
    a, b = socket.socketpair()
    with a, b:
        data = bytes(range(200))
        in_thread(lambda: [b.send(data[i:i + 1]) for i in range(len(data))])
        assert recv_exact(a, len(data), chunk_size=1) == data


def test_recv_exact_zero_bytes():
    a, b = socket.socketpair()
    with a, b:
        assert recv_exact(a, 0) == b""


def test_recv_exact_raises_when_peer_closes():
    a, b = socket.socketpair()
    with a:
        b.sendall(b"abc")
        b.close()
        with pytest.raises(ConnectionError, match="^Connection closed while reading$"):
            recv_exact(a, 10)


class CountingSocket:
    """Records the sizes the runtime asks recv/recv_into for."""

    def __init__(self, data):
        self.data = data
        self.asked = []

    def recv(self, size):
        self.asked.append(size)
        piece, self.data = self.data[:size], self.data[size:]
        return piece

    def recv_into(self, view, size):
        self.asked.append(size)
        piece, self.data = self.data[:size], self.data[size:]
        view[: len(piece)] = piece
        return len(piece)


def test_recv_exact_reads_in_chunks_of_at_most_chunk_size():
    sock = CountingSocket(b"x" * 20000)
    assert recv_exact(sock, 20000, chunk_size=8192) == b"x" * 20000
    assert sock.asked == [8192, 8192, 3616]


def test_send_frame_writes_length_prefix():
    a, b = socket.socketpair()
    with a, b:
        send_frame(a, b"hello")
        send_frame(a, b"")
        assert b.recv(100) == b"\x00\x00\x00\x05hello\x00\x00\x00\x00"


@pytest.mark.parametrize("size", [10 * 1024, 1024 * 1024, 10 * 1024 * 1024, 100 * 1024 * 1024])
def test_frames_round_trip(size):
    data = b"y" * size
    a, b = socket.socketpair()
    with a, b:
        in_thread(send_frame, a, data)
        assert read_frame(b, max_bytes=200 * 1024 * 1024) == data


def test_read_frame_rejects_oversized_length_without_reading_the_body():
    sock = CountingSocket(struct.pack(">I", 1001) + b"z" * 1001)
    with pytest.raises(FrameTooLarge, match="^Frame of 1001 bytes exceeds the maximum of 1000 bytes$"):
        read_frame(sock, max_bytes=1000)
    assert sock.asked == [4]


def test_read_frame_prefix_split_across_reads():
    sock = CountingSocket(struct.pack(">I", 3) + b"abc")
    sock.recv = lambda size, _recv=sock.recv: _recv(min(size, 1))
    assert read_frame(sock) == b"abc"


# One connection, end to end


@pytest.mark.parametrize("size", [10 * 1024, 100 * 1024, 500 * 1024, 1024 * 1024, 5 * 1024 * 1024,
                                  10 * 1024 * 1024])
def test_payload_sizes_echo(size):
    [response] = serve_one(request_body({"data": "d" * size}))
    assert len(response["payload"]["data"]) == size


def test_big_fixture_response():
    [response] = serve_one(request_body({"size_mb": 10}), fixtures.big)
    assert len(response["payload"]["data"]) == 10 * 1024 * 1024


def test_echo_over_the_socket_keeps_headers_and_unicode():
    [response] = serve_one(request_body({"message": "Hello 世界 🌍"}, headers={"traceparent": "00-1"}))
    assert response == {"payload": {"message": "Hello 世界 🌍"}, "route": {"actors": ["a", "b"], "current": 1},
                        "headers": {"traceparent": "00-1"}}


def test_zero_length_frame_is_a_parsing_error():
    [response] = serve_one(b"")
    assert response["error"] == "msg_parsing_error"
    assert response["details"]["type"] == "JSONDecodeError"


def test_invalid_json_is_a_parsing_error():
    [response] = serve_one(b"{nope")
    assert response["error"] == "msg_parsing_error"
    assert {"message", "type", "traceback"} <= set(response["details"])


def test_invalid_utf8_is_a_parsing_error():
    [response] = serve_one(b'{"payload": "\xc3\x28"}')
    assert (response["error"], response["details"]["type"]) == ("msg_parsing_error", "UnicodeDecodeError")


def test_dial_only_connection_is_answered_quietly(caplog):
    [response] = serve_one(b"", partial=True)
    assert (response["error"], response["details"]["type"]) == ("connection_error", "ConnectionError")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_peer_closing_inside_the_prefix_is_a_connection_error():
    [response] = serve_one(b"\x00\x00", partial=True)
    assert response["error"] == "connection_error"
    assert response["details"]["message"] == "Connection closed while reading"
    assert response["details"]["type"] == "ConnectionError"


def test_peer_closing_inside_the_body_is_a_connection_error():
    [response] = serve_one(struct.pack(">I", 100) + b"0123456789", partial=True)
    assert response["error"] == "connection_error"
    assert response["details"]["message"] == "Connection closed while reading"


def test_unexpected_read_failure_is_a_connection_error():
    class Exploding:
        sent = b""
        closed = False

        def recv(self, size):
            raise RuntimeError("socket exploded")

        def sendall(self, data):
            self.sent += data

        def close(self):
            self.closed = True

    conn = Exploding()
    handle_connection(conn, fixtures.echo, make_config())
    [response] = decode_response(conn.sent)
    assert conn.closed
    assert response["error"] == "connection_error"
    assert response["details"]["message"] == "socket exploded"
    assert response["details"]["type"] == "RuntimeError"


def test_oversized_frame_gets_an_exact_error_and_the_connection_is_closed():
    server, client = socket.socketpair()
    worker = in_thread(handle_connection, server, fixtures.echo, make_config(max_frame_bytes=1024))
    with client:
        client.sendall(struct.pack(">I", 5000) + b"a" * 100)
        raw = b""
        while len(raw) < 4 or len(raw) < 4 + struct.unpack(">I", raw[:4])[0]:
            chunk = client.recv(65536)
            assert chunk
            raw += chunk
        worker.join(10)
        assert not worker.is_alive()
    assert decode_response(raw) == [{"error": "msg_parsing_error", "details": {
        "message": "Frame of 5000 bytes exceeds the maximum of 1024 bytes", "type": "FrameTooLarge",
        "traceback": ""}}]


def test_unserialisable_result_is_answered_not_dropped():
    [response] = serve_one(request_body({"kind": "nan"}), fixtures.unserializable)
    assert (response["error"], response["details"]["type"]) == ("processing_error", "ValueError")
    [response] = serve_one(request_body({}), fixtures.unserializable)
    assert (response["error"], response["details"]["type"]) == ("processing_error", "TypeError")


def test_client_gone_before_the_response_is_not_fatal():
    server, client = socket.socketpair()
    client.sendall(struct.pack(">I", 2) + b"{}")
    client.close()
    handle_connection(server, fixtures.echo, make_config())
    assert server.fileno() == -1


def test_chunk_size_setting_is_used():
    [response] = serve_one(request_body({"data": "q" * 5000}), chunk_size=7)
    assert response["payload"]["data"] == "q" * 5000


def test_many_outputs_over_the_socket():
    responses = serve_one(request_body({"count": 50}), fixtures.fanout)
    assert [r["payload"]["index"] for r in responses] == list(range(50))
