"""Step 3 (Python): a class handler that keeps state across messages."""


class Reporter:
    def __init__(self, title="Sentiment report"):
        self.title = title
        self.seen = 0

    def process(self, payload):
        self.seen += 1
        sentiment = payload["sentiment"]
        return {
            "title": self.title,
            "text": payload["text"],
            "verdict": "%s (score %+d over %d words)" % (sentiment["label"], sentiment["score"], payload["words"]),
            "reports_so_far": self.seen,
        }
