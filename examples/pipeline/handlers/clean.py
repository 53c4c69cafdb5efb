"""clean (Python, payload mode): turns a raw document into plain text the later steps can trust.

Stands in for the extraction step of a real pipeline (HTML/PDF to text). Everything here is deterministic
so the example runs offline and its tests can assert exact results.
"""
import html
import re

# Block-level tags end a line, so a heading or paragraph never runs into the next sentence.
_BLOCK_TAG = re.compile(r"</?(?:p|div|br|li|h[1-6]|tr|blockquote|pre)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_SPACE = re.compile(r"[^\S\n]+")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"})


def process(payload):
    title = str(payload.get("title") or "untitled")
    raw = payload.get("text")
    if not isinstance(raw, str):
        # A TypeError, not a ValueError: both are listed as non-retryable in actors/clean.yaml, but the type
        # tells the caller which of their mistakes it was.
        raise TypeError("document %r: text must be a string, got %s" % (title, type(raw).__name__))
    # Inline tags (b, a, span) vanish without a trace, so "<b>word</b>." stays "word.".
    text = html.unescape(_TAG.sub("", _BLOCK_TAG.sub("\n", raw)))
    text = _CONTROL.sub(" ", text).translate(_QUOTES)
    # One line per block, single spaces inside it; chunk.ts treats a line end like a sentence end.
    lines = (_SPACE.sub(" ", line).strip() for line in text.replace("\r", "\n").split("\n"))
    text = "\n".join(line for line in lines if line)
    if not text:
        raise ValueError("document %r has no text left after cleaning (%d characters of markup and whitespace)" % (title, len(raw)))
    cleaned = dict(payload)
    cleaned.update({"title": title, "text": text, "cleaned": {"chars_in": len(raw), "chars_out": len(text)}})
    return cleaned
