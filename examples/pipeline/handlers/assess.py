"""assess (Python, payload mode): judges a whole document after the fan-in step.

The fan-in crew actor waits for every chunk of the document and hands this step one envelope whose
payload is the list of scored chunks in chunk order; a chunk that failed stands in its place as
{"fan_in_error": {"id", "index", "error"}}. The verdict is about the document, not about one chunk.
"""

PUBLISHABLE_MEAN = 0.6


def process(chunks):
    if not isinstance(chunks, list):
        raise TypeError("assess needs the list of scored chunks that fan-in gathers, got %s" % type(chunks).__name__)
    failed = [c["fan_in_error"] for c in chunks if isinstance(c, dict) and "fan_in_error" in c]
    scored = [c for c in chunks if isinstance(c, dict) and "score" in c]
    mean = round(sum(c["score"] for c in scored) / len(scored), 2) if scored else 0.0
    weakest = min(scored, key=lambda c: c["score"]) if scored else None
    if failed:
        verdict = "incomplete"
    elif mean >= PUBLISHABLE_MEAN and all(c["score"] >= PUBLISHABLE_MEAN / 2 for c in scored):
        verdict = "publishable"
    else:
        verdict = "needs_work"
    return {
        "verdict": verdict,
        "chunks": len(chunks),
        "mean_score": mean,
        "scores": [c.get("score") for c in scored],
        "weakest": {"index": weakest.get("index"), "score": weakest["score"], "issues": weakest.get("issues", [])} if weakest else None,
        "failed_chunks": [f["index"] for f in failed],
    }
