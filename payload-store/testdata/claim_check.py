"""Handlers for the claim-check tests: each step records the sha256 of the data it saw, so a test can prove
every handler got the whole payload."""
import hashlib


def relay(payload):
    seen = payload.get("seen", [])
    seen.append(hashlib.sha256(payload["data"].encode("utf-8")).hexdigest())
    return {"data": payload["data"], "seen": seen}


def split(payload):
    """Fans out into `parts` children, each holding one slice of the data and its sha256."""
    data = payload["data"]
    parts = payload["parts"]
    size = len(data) // parts
    slices = [data[i * size:(i + 1) * size] for i in range(parts)]
    return [{"data": s, "index": i, "seen": [hashlib.sha256(s.encode("utf-8")).hexdigest()]} for i, s in enumerate(slices)]
