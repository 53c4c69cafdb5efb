"""score (Python class, payload mode): grades a chunk's quality between 0 and 1.

It stands in for a model. A model is loaded once per process, so this is a class: the runtime
instantiates it once at startup, and every message reuses the vocabulary it loaded. `calls` shows that the
instance lives on between messages. It counts per runtime process, so with ASYA_RUNTIME_WORKERS or several
replicas each one counts on its own.
"""
import json
import os
import re

_WORD = re.compile(r"[A-Za-z][A-Za-z'/]*")
_DEFAULT_VOCABULARY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vocabulary.json")

# A chunk with no domain terms and no problems scores BASE; the weights below move it from there.
BASE = 0.6
DOMAIN_BONUS = 0.05
DOMAIN_BONUS_CAP = 6
PENALTY = 0.1
MIN_WORDS = 6
SHORT_PENALTY = 0.3


class Scorer:
    def __init__(self, vocabulary_path=_DEFAULT_VOCABULARY):
        with open(vocabulary_path, encoding="utf-8") as f:
            vocabulary = json.load(f)
        self.domain = frozenset(vocabulary["domain"])
        self.filler = frozenset(vocabulary["filler"])
        self.informal = frozenset(vocabulary["informal"])
        self.acronyms = frozenset(vocabulary["acronyms"])
        self.calls = 0

    def grade(self, text):
        """(score, issues) for one text; pure, so tests can call it without an envelope."""
        words = _WORD.findall(text)
        lowered = [w.lower() for w in words]
        filler = [w for w in lowered if w in self.filler]
        informal = [w for w in lowered if w in self.informal]
        shouting = [w for w in words if len(w) >= 3 and w.isupper() and w not in self.acronyms]
        domain = sorted({w for w in lowered if w in self.domain})
        score = BASE + DOMAIN_BONUS * min(len(domain), DOMAIN_BONUS_CAP)
        score -= PENALTY * (len(filler) + len(informal) + len(shouting))
        issues = []
        if filler:
            issues.append("filler: " + ", ".join(filler))
        if informal:
            issues.append("informal: " + ", ".join(informal))
        if shouting:
            issues.append("shouting: " + ", ".join(shouting))
        if len(words) < MIN_WORDS:
            score -= SHORT_PENALTY
            issues.append("too short: %d words" % len(words))
        return round(min(max(score, 0.0), 1.0), 2), issues, domain

    def process(self, payload):
        self.calls += 1
        text = payload.get("text")
        if not isinstance(text, str):
            raise TypeError("score needs payload.text to be a string, got %s" % type(text).__name__)
        score, issues, domain = self.grade(text)
        scored = dict(payload)
        scored.update({"score": score, "issues": issues, "terms": domain, "scorer_calls": self.calls})
        return scored
