import os
import socket
import stat

import pytest

from asya_runtime import _unlink_if_ours, setup_socket, write_ready_file


def mode_of(path):
    info = os.stat(path)
    assert stat.S_ISSOCK(info.st_mode)
    return stat.S_IMODE(info.st_mode)


def test_default_mode_is_0660(short_dir):
    path = os.path.join(short_dir, "asya-runtime.sock")
    with setup_socket(path):
        assert mode_of(path) == 0o660


@pytest.mark.parametrize("chmod", [0o600, 0o666])
def test_mode_override(short_dir, chmod):
    path = os.path.join(short_dir, "asya-runtime.sock")
    with setup_socket(path, chmod):
        assert mode_of(path) == chmod


def test_no_chmod_still_creates_a_socket(short_dir):
    path = os.path.join(short_dir, "asya-runtime.sock")
    with setup_socket(path, None):
        mode_of(path)


def test_socket_accepts_connections(short_dir):
    path = os.path.join(short_dir, "asya-runtime.sock")
    with setup_socket(path) as listener, socket.socket(socket.AF_UNIX) as client:
        client.connect(path)
        conn, _ = listener.accept()
        conn.close()


def test_stale_socket_is_replaced(short_dir):
    path = os.path.join(short_dir, "asya-runtime.sock")
    stale = setup_socket(path)
    stale.close()
    assert os.path.exists(path)
    with setup_socket(path) as fresh, socket.socket(socket.AF_UNIX) as client:
        client.connect(path)
        fresh.accept()[0].close()


def test_stale_regular_file_is_replaced(short_dir):
    path = os.path.join(short_dir, "asya-runtime.sock")
    with open(path, "w") as handle:
        handle.write("leftover")
    with setup_socket(path):
        mode_of(path)


def test_directory_at_socket_path_raises(short_dir):
    path = os.path.join(short_dir, "asya-runtime.sock")
    os.mkdir(path)
    with pytest.raises(OSError):
        setup_socket(path)
    assert os.path.isdir(path)


def test_missing_socket_directory_is_created(short_dir):
    path = os.path.join(short_dir, "nested", "asya-runtime.sock")
    with setup_socket(path):
        mode_of(path)


def test_ready_file(short_dir):
    path = os.path.join(short_dir, "sub", "runtime-ready")
    inode = write_ready_file(path)
    with open(path) as handle:
        content = handle.read()
    # The first word is the original's `ready`; what follows announces keep-alive to our sidecar.
    assert content == "ready keep-alive"
    assert content.split()[0] == "ready"
    assert inode == os.stat(path).st_ino
    assert os.listdir(os.path.dirname(path)) == ["runtime-ready"]


def test_ready_file_failure_is_only_logged(short_dir, caplog):
    blocker = os.path.join(short_dir, "file")
    open(blocker, "w").close()
    assert write_ready_file(os.path.join(blocker, "runtime-ready")) is None
    assert "Failed to write ready file" in caplog.text


def test_cleanup_leaves_a_replacement_runtimes_files_alone(short_dir):
    path = os.path.join(short_dir, "runtime-ready")
    ours = write_ready_file(path)
    theirs = write_ready_file(path)
    assert ours != theirs
    _unlink_if_ours(path, ours)
    assert os.path.exists(path)
    _unlink_if_ours(path, theirs)
    assert not os.path.exists(path)
    _unlink_if_ours(path, theirs)
