# Baseline for bench/cold-start: the least a Python runtime can do, a framed echo on the runtime socket.
import os
import socket
import struct

directory = os.environ["ASYA_SOCKET_DIR"]
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(os.path.join(directory, "asya-runtime.sock"))
server.listen(16)
with open(os.path.join(directory, "runtime-ready"), "w") as ready:
    ready.write("ready")
while True:
    connection, _ = server.accept()
    data = b""
    while len(data) < 4 or len(data) < 4 + struct.unpack(">I", data[:4])[0]:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    connection.sendall(data)
    connection.close()
