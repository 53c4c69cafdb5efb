import os
import shutil
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIME_DIR = os.path.dirname(HERE)
HANDLERS_DIR = os.path.join(os.path.dirname(RUNTIME_DIR), "testdata", "handlers")

for path in (HERE, RUNTIME_DIR, HANDLERS_DIR):
    if path not in sys.path:
        sys.path.insert(0, path)


@pytest.fixture
def short_dir():
    """Unix socket paths are limited to ~107 bytes, so pytest's deep tmp_path is too long for them."""
    path = tempfile.mkdtemp(prefix="asya-", dir="/tmp")
    yield path
    shutil.rmtree(path, ignore_errors=True)
