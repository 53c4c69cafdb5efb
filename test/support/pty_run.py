"""Runs a command on a pseudo-terminal, as a user's shell would, and prints everything it wrote.

Usage: pty_run.py [--interrupt-after PATTERN COUNT] -- command...
With --interrupt-after, SIGINT is sent once PATTERN (a Python regex on the raw output) matched COUNT times;
the output is still read until the command exits. The exit code is the command's.
"""
import os
import pty
import re
import select
import signal
import sys


def main() -> int:
    args = sys.argv[1:]
    pattern, count = None, 0
    if args[0] == "--interrupt-after":
        pattern, count, args = re.compile(args[1].encode()), int(args[2]), args[3:]
    if args[0] == "--":
        args = args[1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(args[0], args)
    out = b""
    interrupted = False
    while True:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        if pattern is not None and not interrupted and len(pattern.findall(out)) >= count:
            os.kill(pid, signal.SIGINT)
            interrupted = True
    _, status = os.waitpid(pid, 0)
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
