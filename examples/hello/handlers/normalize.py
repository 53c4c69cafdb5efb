"""Step 1 (Python): clean up the text."""


def process(payload):
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("payload.text must be a non-empty string")
    words = text.split()
    return {"text": " ".join(words), "words": len(words)}
