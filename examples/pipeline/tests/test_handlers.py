"""Unit tests of the pipeline's Python handlers: plain functions and classes, no runtime or sidecar needed.

    python3 -m pytest examples/pipeline/tests -q
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "handlers"))

import assess  # noqa: E402
import clean  # noqa: E402
import judge  # noqa: E402
import publish  # noqa: E402
import score  # noqa: E402


def test_clean_strips_markup_and_keeps_one_line_per_block():
    out = clean.process({"title": "t", "text": "<p>Hello&nbsp;  <b>world</b>.</p><p>\u201cQuoted\u201d</p>", "min_score": 0.7})
    assert out["text"] == 'Hello world.\n"Quoted"'
    assert out["min_score"] == 0.7
    assert out["cleaned"]["chars_out"] == len(out["text"])


def test_clean_refuses_an_empty_document_with_its_title():
    with pytest.raises(ValueError, match="document 'blank' has no text left after cleaning"):
        clean.process({"title": "blank", "text": "<div> </div>"})


def test_clean_refuses_text_that_is_not_a_string():
    with pytest.raises(TypeError, match="text must be a string, got int"):
        clean.process({"title": "n", "text": 42})


def test_scorer_loads_its_vocabulary_once_and_counts_calls():
    scorer = score.Scorer()
    first = scorer.process({"text": "The sidecar routes every envelope to the next actor."})
    second = scorer.process({"text": "Basically u know, REALLY bad."})
    assert (first["scorer_calls"], second["scorer_calls"]) == (1, 2)
    assert first["score"] == 0.75 and first["issues"] == []
    assert second["score"] == 0.0
    assert second["issues"] == ["filler: basically, really", "informal: u", "shouting: REALLY", "too short: 5 words"]


def test_scorer_does_not_count_acronyms_as_shouting():
    assert score.Scorer().grade("The MCP gateway speaks JSON over HTTP to every client.")[1] == []


def envelope(score_value, rounds=None, actors=None, **payload):
    headers = {"traceparent": "00-abc-def-01"}
    if rounds is not None:
        headers[judge.ROUNDS_HEADER] = rounds
    return {
        "id": "e-1",
        "route": {"actors": actors or ["score", "judge", "publish"], "current": 1, "metadata": {"job": "j"}},
        "headers": headers,
        "payload": dict(payload, score=score_value),
    }


def test_judge_passes_a_good_chunk_on_unchanged_route():
    out = judge.process(envelope(0.8))
    assert out["route"] == {"actors": ["score", "judge", "publish"], "current": 2, "metadata": {"job": "j"}}
    assert out["payload"]["verdict"] == "accepted"
    assert out["headers"] == {"traceparent": "00-abc-def-01"}


def test_judge_inserts_the_refine_loop_after_itself_and_counts_the_round():
    out = judge.process(envelope(0.3))
    assert out["route"]["actors"] == ["score", "judge", "refine", "score", "judge", "publish"]
    assert out["route"]["current"] == 2
    assert out["headers"][judge.ROUNDS_HEADER] == 1
    assert out["headers"]["traceparent"] == "00-abc-def-01"
    assert out["payload"]["history"] == [{"round": 0, "score": 0.3}]


def test_judge_stops_after_max_rounds():
    out = judge.process(envelope(0.3, rounds=2, max_rounds=2))
    assert out["payload"]["verdict"] == "needs_review"
    assert out["route"]["actors"] == ["score", "judge", "publish"]


def test_judge_caps_rounds_whatever_the_caller_asks():
    assert judge.decide(0.1, 0.6, judge.HARD_MAX_ROUNDS, 1000) == "needs_review"
    assert judge.decide(0.1, 0.6, judge.HARD_MAX_ROUNDS - 1, 1000) == "refine"


def test_judge_leaves_the_input_envelope_alone():
    original = envelope(0.3)
    judge.process(original)
    assert original["route"]["actors"] == ["score", "judge", "publish"]
    assert judge.ROUNDS_HEADER not in original["headers"]


def test_publish_keeps_the_record_fields_only():
    record = publish.process({"index": 1, "of": 2, "verdict": "accepted", "score": 0.7, "text": "x", "title": "t", "min_score": 0.6})
    assert record == {"index": 1, "of": 2, "verdict": "accepted", "score": 0.7, "text": "x", "edits": []}


def test_assess_judges_the_whole_document_from_every_chunk_in_order():
    out = assess.process([{"index": 0, "score": 0.85, "issues": []}, {"index": 1, "score": 0.25, "issues": ["filler: basically"]}])
    assert out["verdict"] == "needs_work"
    assert (out["chunks"], out["mean_score"], out["scores"]) == (2, 0.55, [0.85, 0.25])
    assert out["weakest"] == {"index": 1, "score": 0.25, "issues": ["filler: basically"]}


def test_assess_calls_a_document_with_a_failed_chunk_incomplete():
    failed = {"fan_in_error": {"id": "d-1", "index": 1, "error": "processing_error at score: TypeError: bad"}}
    out = assess.process([{"index": 0, "score": 0.9}, failed])
    assert (out["verdict"], out["failed_chunks"], out["mean_score"]) == ("incomplete", [1], 0.9)


def test_assess_refuses_anything_but_the_fan_in_list():
    with pytest.raises(TypeError, match="list of scored chunks"):
        assess.process({"score": 1})
