"""publish (Python, payload mode): the last step of every chunk, accepted or not.

It shapes what the caller gets back: one record per chunk. The gateway collects the records of all
chunks of a document, in chunk order, as the tool call's result. A real pipeline would also write the
chunk to a search index or a vector store here.
"""

KEPT = ("index", "of", "verdict", "score", "rounds", "text", "terms", "issues", "edits", "history")


def process(payload):
    record = {key: payload[key] for key in KEPT if key in payload}
    record.setdefault("edits", [])
    return record
