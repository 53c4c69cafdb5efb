"""judge (Python, envelope mode): decides where each scored chunk goes next.

Envelope mode (ASYA_HANDLER_MODE=envelope) hands the handler the whole envelope, so it can rewrite the
rest of the route. A chunk that scores at least `min_score` goes on to the next actor unchanged. A
low-scoring one gets `refine -> score -> judge` inserted right after this actor, so it comes back here
rescored. The number of rounds travels in the header `x-refine-rounds` (headers survive every hop and
retry) and is mirrored in the payload for the caller. After `max_rounds` (never more than
HARD_MAX_ROUNDS, whatever the caller asks), the chunk goes on marked `needs_review` rather than looping.
"""
ROUNDS_HEADER = "x-refine-rounds"
HARD_MAX_ROUNDS = 5
DEFAULT_MIN_SCORE = 0.6
DEFAULT_MAX_ROUNDS = 2
REFINE_LOOP = ["refine", "score", "judge"]


def decide(score, min_score, rounds, max_rounds):
    if score >= min_score:
        return "accepted"
    if rounds < min(max_rounds, HARD_MAX_ROUNDS):
        return "refine"
    return "needs_review"


def process(envelope):
    payload = dict(envelope["payload"])
    route = dict(envelope["route"])
    headers = dict(envelope.get("headers") or {})
    current = route["current"]
    rounds = int(headers.get(ROUNDS_HEADER, 0))
    min_score = float(payload.get("min_score", DEFAULT_MIN_SCORE))
    max_rounds = int(payload.get("max_rounds", DEFAULT_MAX_ROUNDS))
    score = float(payload["score"])

    verdict = decide(score, min_score, rounds, max_rounds)
    payload["history"] = list(payload.get("history", [])) + [{"round": rounds, "score": score}]
    actors = list(route["actors"])
    if verdict == "refine":
        # Only actors after `current` may change; the runtime refuses edits to the ones already passed.
        actors[current + 1:current + 1] = REFINE_LOOP
        rounds += 1
        headers[ROUNDS_HEADER] = rounds
    payload["verdict"] = verdict
    payload["rounds"] = rounds
    route["actors"] = actors
    # In envelope mode advancing the route is the handler's job.
    route["current"] = current + 1
    out = dict(envelope)
    out.update({"route": route, "headers": headers, "payload": payload})
    return out
