/**
 * Consumes one delivery: checks it, calls the runtime, publishes every result, and only then acks.
 * Nothing is acked before the broker confirmed every message it produced, and nothing is dropped: when a
 * publish fails the input is requeued, so it is processed again (with the same derived ids).
 */
import {
  currentActor,
  DLQ_QUEUE,
  dlqName,
  envelopeLogFields,
  failedReport,
  formatDuration,
  GATEWAY_UNAVAILABLE,
  GatewayUnavailableError,
  isPlainObject,
  isRuntimeError,
  parseEnvelope,
  queueName,
  type EnvelopeProblem,
  readEndActorResponse,
  sleep,
  RETRY_POLICY_HEADER,
  type Envelope,
  type Logger,
  type RuntimeResult,
} from '../protocol/index.ts';
import { asError, errorText, isTerminal } from '../protocol/errors.ts';
import { tracingOn } from '../telemetry/index.ts';
import { TransportError, type Delivery, type HandlerSlot, type Transport } from '../transport/transport.ts';
import type { ClaimCheck } from './claim-check.ts';
import type { SidecarConfig } from './config.ts';
import { finalReport } from './end-actor.ts';
import { GatewayAway, holdWhileGatewayAway, type GiveBack } from './gateway-hold.ts';
import { failureOf, hopFailed, hopLogger, startHopTrace, tracedPublish, tracedRuntimeCall, type HopTrace } from './hop-trace.ts';
import type { SidecarMetrics } from './metrics.ts';
import { errorMessage, routeResults, type OutboundMessage } from './outcome.ts';
import type { ProgressReporter } from './progress-reporter.ts';
import { RuntimeCallError } from './runtime-client.ts';
import { findPause, type PauseReporter } from './pause.ts';

export interface RuntimeCaller {
  /** `readResponse` replaces parsing the answer whole (the claim check offloads large results from the frame). */
  call(body: Buffer | Buffer[], timeoutMs: number, readResponse?: (frame: Buffer) => Promise<RuntimeResult[]>): Promise<RuntimeResult[]>;
}

export interface RuntimeSupervisor {
  /** Make a hung runtime go away and come back; resolves once it is ready again (or gives up). */
  restart(reason: string): Promise<void>;
}

export interface RouterDeps {
  config: SidecarConfig;
  transport: Transport;
  runtime: RuntimeCaller;
  supervisor: RuntimeSupervisor;
  reporter: ProgressReporter;
  /** Where pauses go; absent without a gateway (a pause is then an error). */
  pauses?: PauseReporter | undefined;
  metrics: SidecarMetrics;
  log: Logger;
  /** Aborted when the sidecar drains: waits are cut short and held deliveries are requeued. */
  stopping: AbortSignal;
  /** Resolves payload references for the runtime and offloads large results; none: payloads travel inline. */
  claimCheck?: ClaimCheck;
  now?: () => number;
}

/** How long to hold a delivery between attempts while the runtime is unreachable. */
const UNAVAILABLE_BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000, 16000, 30000];
/** Between final reports to an unavailable gateway: capped low, so finals flow soon after it is back. */
const GATEWAY_AWAY_BACKOFF_MS = [250, 500, 1000, 2000, 5000, 10000];

/** A crew handler may ask for a delayed publish (error-end's backoff); nothing else delays. */
type Outbound = OutboundMessage & { delayMs?: number };
/** `status` names the outcome for messages_processed_total; error outcomes are counted as failures instead. */
type Decision = { publish: Outbound[]; after?: () => Promise<void>; status?: 'success' | 'empty_response' } | { requeue: string } | GiveBack;

export class Router {
  private readonly ends;
  private readonly now: () => number;
  private runtimeUnavailable = false;
  /** The span of each delivery being handled, while tracing records it (sidecar/hop-trace.ts). */
  private readonly traces = new WeakMap<Delivery, HopTrace>();
  /** The logger of each traced delivery, made on its first line. */
  private readonly tracedLogs = new WeakMap<Delivery, Logger>();

  constructor(private readonly deps: RouterDeps) {
    this.ends = { happyEnd: deps.config.happyEnd, errorEnd: deps.config.errorEnd };
    this.now = deps.now ?? Date.now;
  }

  get runtimeReachable(): boolean {
    return !this.runtimeUnavailable;
  }

  /**
   * Handles a delivery to the end: acked after its results are confirmed, or requeued. Never throws. The
   * consumer's slot is given back once the results are being published, so the next delivery's handler runs
   * while the broker confirms them (at concurrency 1 that wait was as long as the rest of the hop).
   */
  async handle(delivery: Delivery, slot?: HandlerSlot): Promise<void> {
    const hop = tracingOn() ? startHopTrace(delivery, { actor: this.deps.config.actorName, transportKind: this.deps.transport.kind }) : undefined;
    if (!hop) return this.handleHop(delivery, slot);
    this.traces.set(delivery, hop);
    try {
      await this.handleHop(delivery, slot);
    } finally {
      hop.span.end();
    }
  }

  /** The logger for lines about one delivery: in its hop's span when that is recorded. */
  private logFor(delivery: Delivery): Logger {
    const hop = this.traces.get(delivery);
    if (!hop) return this.deps.log;
    let log = this.tracedLogs.get(delivery);
    if (!log) this.tracedLogs.set(delivery, (log = hopLogger(this.deps.log, hop)));
    return log;
  }

  private async handleHop(delivery: Delivery, slot: HandlerSlot | undefined): Promise<void> {
    const { metrics, transport } = this.deps;
    const log = this.logFor(delivery);
    const started = this.now();
    metrics.received(delivery.body.length);
    let decision: Decision;
    try {
      decision = await this.decide(delivery);
    } catch (err) {
      decision = { requeue: `unexpected error: ${asError(err).stack ?? err}` };
    }
    if ('giveBack' in decision) {
      await this.giveBack(delivery, decision.giveBack);
      return;
    }
    if ('requeue' in decision) {
      log.warn(`Requeueing message from ${delivery.queue}: ${decision.requeue}`);
      const hop = this.traces.get(delivery);
      if (hop) hopFailed(hop, 'requeued', decision.requeue);
      await this.settle(delivery, () => transport.nack(delivery, { requeue: true }));
      return;
    }
    const publishing = this.publishAll(decision.publish, delivery);
    // After the publishes are on their way, so a next delivery's results never overtake these; not while
    // something must happen first (a timed-out runtime's restart), or the next would meet the hung runtime.
    if (!decision.after) slot?.release();
    const refused = await publishing;
    if (refused && isPermanent(refused.error)) {
      // Running the handler again would produce the same refusal: the failure goes to error-end instead.
      await this.divert(delivery, refused.message, refused.error);
      await decision.after?.();
      return;
    }
    if (refused) {
      metrics.failed('routing_error');
      log.error(`Publishing results failed, requeueing the input: ${errorText(refused.error)}`);
      await sleep(1000, this.deps.stopping);
      await this.settle(delivery, () => transport.nack(delivery, { requeue: true }));
      return;
    }
    await this.settle(delivery, () => transport.ack(delivery));
    if (decision.status) metrics.processed(decision.status, this.now() - started);
    await decision.after?.();
  }

  private async decide(delivery: Delivery): Promise<Decision> {
    const { config, metrics } = this.deps;
    const me = config.actorName;
    const parsed = parseEnvelope(delivery.body, { endActor: config.isEndActor });
    if (!('envelope' in parsed)) {
      metrics.failed(parsed.code);
      return { publish: [this.rejectUnparseable(delivery, parsed)] };
    }
    const input = parsed.envelope;
    if (!input.id) {
      metrics.failed('validation_error');
      return { publish: [this.rejectUnparseable(delivery, { error: "Envelope missing required 'id' field", code: 'validation_error', salvage: input })] };
    }
    this.logFor(delivery).debug(() => `Received from ${delivery.queue}`, envelopeLogFields(input));
    if (config.isEndActor) return this.decideEnd(delivery, input);
    if (input.deadline && deadlineOf(input) <= this.now()) {
      metrics.failed('deadline_exceeded');
      return { publish: [errorMessage(input, { message: `Deadline ${input.deadline} exceeded before ${me} started`, code: 'deadline_exceeded', actor: me }, this.ends)] };
    }
    const target = currentActor(input.route);
    if (target !== me) {
      metrics.failed('route_mismatch');
      const message = `Route mismatch: message routed to wrong actor (expected: ${me}, actual: ${target})`;
      return { publish: [errorMessage(input, { message, code: 'route_mismatch', actor: me }, this.ends)] };
    }
    this.report(input, 'received', `Received message (${(delivery.body.length / 1024).toFixed(2)} KB)`);
    this.report(input, 'processing', `Processing in ${me}`);
    const call = await this.callRuntime(delivery, input);
    if ('requeue' in call || 'publish' in call) return call;
    const pause = findPause(call.results, input.headers);
    if (pause) return this.pause(delivery, input, pause);
    const { messages, children } = routeResults(input, call.results, me, this.ends);
    for (const child of children) this.deps.reporter.child(child);
    this.logFor(delivery).debug(() => `Handled in ${call.ms} ms; publishing to ${messages.map((m) => m.queue).join(', ') || 'nowhere'}`, envelopeLogFields(input));
    if (messages[0]?.kind === 'error_end') {
      metrics.failed('runtime_error');
      return { publish: messages };
    }
    if (call.results.length === 0) return { publish: messages, status: 'empty_response' };
    // As the original: `completed` carries the route the result continues on, so its index counts the
    // actors done. The gateway turns that into honest progress (it never shows 100% before the end).
    const next = (messages[0]!.envelope as Envelope).route;
    this.report({ ...input, route: next }, 'completed', `Completed processing in ${call.ms}ms`, call.ms);
    return { publish: messages, status: 'success' };
  }

  /**
   * The handler asked to pause: the gateway keeps the envelope as it will continue, and the input is acked.
   * Whatever cannot be kept (no gateway, an id it does not know, a pause it refuses) goes to error-end with
   * the reason; a gateway that is away gets the message back in the queue (the handler runs again).
   */
  private async pause(delivery: Delivery, input: Envelope, found: NonNullable<ReturnType<typeof findPause>>): Promise<Decision> {
    const { config, metrics, pauses } = this.deps;
    const me = config.actorName;
    const fail = (message: string): Decision => {
      metrics.failed('runtime_error');
      return { publish: [errorMessage(input, { message, code: 'processing_error', actor: me, details: { type: 'PauseError', message } }, this.ends)] };
    };
    if ('error' in found) return fail(found.error);
    const { messages } = routeResults(input, [found.result], me, this.ends);
    const next = messages[0]!;
    if (next.kind === 'error_end') return { publish: messages };
    if (!pauses) return fail(`pause needs the gateway: ${me} has no ASYA_GATEWAY_URL, so nothing could keep the envelope while it waits`);
    let answer;
    try {
      answer = await pauses.pause(input.id, { ...found.spec, actor: me, queue: next.queue, envelope: next.envelope as Record<string, never> });
    } catch (err) {
      if (err instanceof GatewayUnavailableError) return { requeue: `the gateway could not take the pause: ${err.message}` };
      return fail(errorText(err));
    }
    if (answer === 'unknown') return fail(`pause needs an envelope the gateway knows; ${input.id} was not sent through the gateway`);
    if (answer === 'final') this.logFor(delivery).info(`${input.id} ended while its handler paused (cancelled or timed out); the pause is dropped`);
    return { publish: [], status: 'success' };
  }

  /**
   * End-actor mode: no route checks, no progress, no routing of results. The crew handler's answer may ask
   * for messages to be published (error-end's retries and DLQ records) and may say it reported the final
   * status itself (protocol/crew.ts); otherwise the sidecar reports it, as the original did. While the
   * gateway is not available the delivery is held and the whole step tried again (the crew is once-only).
   */
  private async decideEnd(delivery: Delivery, input: Envelope): Promise<Decision> {
    const { config, metrics, stopping } = this.deps;
    const log = this.logFor(delivery);
    return holdWhileGatewayAway(() => this.endOnce(delivery, input), {
      // The broker takes a delivery back after twice the runtime timeout; one more attempt must fit.
      limitMs: config.runtimeTimeoutMs,
      backoffMs: GATEWAY_AWAY_BACKOFF_MS,
      stopping,
      now: this.now,
      onAway: (reason, attempt) => {
        metrics.gatewayUnavailable();
        if (attempt % 10 === 0) log.warn(`Gateway not available for the final status of ${input.id} (${reason}); holding the message`, envelopeLogFields(input));
      },
    });
  }

  private async endOnce(delivery: Delivery, input: Envelope): Promise<Decision | GatewayAway> {
    // A passed deadline is the reason the envelope is here; it must not cut the end handler short.
    const call = await this.callRuntime(delivery, input, { ignoreDeadline: true });
    if ('requeue' in call) return call;
    if ('publish' in call) {
      // An end actor never routes onwards; a failed or timed-out end handler is retried, then dead-lettered.
      return this.retryOrDeadLetter(delivery, 'end handler did not complete');
    }
    const failure = call.results.find(isRuntimeError);
    if (failure) {
      if (failure.details?.type === GATEWAY_UNAVAILABLE) return new GatewayAway(failure.details.message ?? 'the end handler could not report');
      return this.retryOrDeadLetter(delivery, `end handler failed: ${JSON.stringify(failure).slice(0, 500)}`);
    }
    const { config, reporter } = this.deps;
    const first = call.results[0];
    const response = readEndActorResponse(first && isPlainObject(first) ? first.payload : undefined, queueName(config.actorName));
    if ('error' in response) return this.retryOrDeadLetter(delivery, `end handler answer refused: ${response.error}`);
    if (!response.finalReported) {
      const report = finalReport(input, response.metadata, config);
      if (report) {
        try {
          await reporter.final(input.id, report);
        } catch (err) {
          if (err instanceof GatewayUnavailableError) return new GatewayAway(err.message);
          return this.retryOrDeadLetter(delivery, `final status refused by the gateway: ${errorText(err)}`);
        }
      }
    }
    this.deps.metrics.processedEnd();
    return {
      publish: response.publish.map((p): Outbound => ({
        queue: p.queue,
        envelope: p.envelope,
        kind: p.queue.startsWith(DLQ_QUEUE) || p.queue.endsWith('-dlq') ? 'dlq' : 'routing',
        ...(p.delay_ms ? { delayMs: p.delay_ms } : {}),
      })),
    };
  }

  /**
   * Returns a held delivery to its queue without spending its delivery budget: a broker-confirmed copy goes
   * in, then the original is acked. A crash in between leaves two copies, which the once-only crew absorbs.
   */
  private async giveBack(delivery: Delivery, reason: string): Promise<void> {
    const { transport, metrics } = this.deps;
    const log = this.logFor(delivery);
    try {
      await transport.publish(delivery.queue, delivery.body);
    } catch (err) {
      log.error(`Could not give a held message back to ${delivery.queue} (${errorText(err)}); requeueing it`);
      await this.settle(delivery, () => transport.nack(delivery, { requeue: true }));
      return;
    }
    metrics.givenBack();
    log.info(`Gave a held message back to ${delivery.queue} as a fresh copy: ${reason}`);
    await this.settle(delivery, () => transport.ack(delivery));
  }

  private retryOrDeadLetter(delivery: Delivery, reason: string): Decision {
    if (delivery.deliveryCount < this.deps.config.maxRuntimeRetries) return { requeue: reason };
    return { publish: [{ queue: dlqName(this.deps.config.actorName), envelope: JSON.parse(delivery.body.toString('utf8')), kind: 'dlq' }] };
  }

  /**
   * What cannot be read goes to error-end with whatever could be salvaged (so the gateway hears of it
   * under its id) and, when the payload was lost, the original bytes. error-end must never send to itself:
   * what it cannot read goes straight to its DLQ, byte for byte.
   */
  private rejectUnparseable(delivery: Delivery, problem: EnvelopeProblem): OutboundMessage {
    const { config } = this.deps;
    if (config.isEndActor && config.actorName === config.errorEnd) {
      return { queue: dlqName(config.actorName), envelope: { reason: problem.error, code: problem.code, ...originalBody(delivery.body) }, kind: 'dlq' };
    }
    const details = problem.salvage && 'payload' in problem.salvage ? undefined : { type: problem.code, ...originalBody(delivery.body) };
    return errorMessage(problem.salvage, { message: problem.error, code: problem.code, actor: config.actorName, ...(details ? { details } : {}) }, this.ends);
  }

  private async callRuntime(
    delivery: Delivery,
    input: Envelope,
    options: { ignoreDeadline?: boolean } = {},
  ): Promise<{ results: RuntimeResult[]; ms: number } | { requeue: string } | { publish: OutboundMessage[]; after?: () => Promise<void> }> {
    const { config, runtime, metrics, supervisor, stopping } = this.deps;
    const log = this.logFor(delivery);
    const hop = this.traces.get(delivery);
    const me = config.actorName;
    const deadlineMs = options.ignoreDeadline ? Number.POSITIVE_INFINITY : deadlineOf(input) - this.now();
    const byDeadline = deadlineMs < config.runtimeTimeoutMs;
    const timeoutMs = Math.max(1, Math.min(config.runtimeTimeoutMs, deadlineMs));
    const claimCheck = config.isEndActor ? undefined : this.deps.claimCheck;
    // End actors keep references as they are: the crew stores results by reference, not through memory.
    const prepared = claimCheck ? await claimCheck.runtimeBody(delivery, input) : { body: delivery.body };
    if ('requeue' in prepared) {
      await sleep(1000, stopping);
      return { requeue: `payload store unavailable: ${prepared.requeue}` };
    }
    if ('unreadable' in prepared) {
      metrics.failed('payload_unavailable');
      return { publish: [errorMessage(input, { message: prepared.unreadable, code: 'payload_unavailable', actor: me }, this.ends)] };
    }
    const readResponse = claimCheck?.responseReader(input);
    for (let attempt = 0; ; attempt++) {
      const started = this.now();
      try {
        const results = hop
          ? await tracedRuntimeCall(hop, me, prepared.body, (body) => runtime.call(body, timeoutMs, readResponse))
          : await runtime.call(prepared.body, timeoutMs, readResponse);
        this.runtimeUnavailable = false;
        const ms = this.now() - started;
        metrics.runtimeDuration(ms);
        return { results, ms };
      } catch (err) {
        if (!(err instanceof RuntimeCallError)) throw err;
        metrics.runtimeError(err.failure);
        if (err.failure === 'unavailable') {
          this.runtimeUnavailable = true;
          if (stopping.aborted) return { requeue: 'sidecar is draining and the runtime is unavailable' };
          const wait = UNAVAILABLE_BACKOFF_MS[Math.min(attempt, UNAVAILABLE_BACKOFF_MS.length - 1)]!;
          if (attempt === 0 || attempt % 10 === 0) log.warn(`Runtime unavailable (${err.message}); holding the message and retrying in ${wait} ms`);
          await sleep(wait, stopping);
          continue;
        }
        if (err.failure === 'timeout') {
          const message = byDeadline
            ? `Deadline ${input.deadline} exceeded while ${me} was processing`
            : `Runtime timeout exceeded after ${formatDuration(config.runtimeTimeoutMs)}`;
          log.error(`${message}; restarting the runtime`);
          return {
            publish: [errorMessage(input, { message, code: byDeadline ? 'deadline_exceeded' : 'timeout', actor: me }, this.ends)],
            after: () => supervisor.restart(message),
          };
        }
        if (err.failure === 'result_not_stored') {
          log.error(`${err.message}; requeueing the input`);
          await sleep(1000, stopping);
          return { requeue: err.message };
        }
        if (err.failure === 'connection_lost' && delivery.deliveryCount < this.deps.config.maxRuntimeRetries) {
          return { requeue: `${err.message} (delivery ${delivery.deliveryCount} of ${this.deps.config.maxRuntimeRetries})` };
        }
        const code = err.failure === 'connection_lost' ? 'connection_error' : 'invalid_response';
        return { publish: [errorMessage(input, { message: err.message, code, actor: me }, this.ends)] };
      }
    }
  }

  /** Publishes every message; on failure returns one refusal, a permanent one if there is any. */
  private async publishAll(messages: Outbound[], delivery: Delivery): Promise<{ message: Outbound; error: unknown } | undefined> {
    const hop = this.traces.get(delivery);
    const outcomes = await Promise.allSettled(messages.map((m) => this.publish(m, hop)));
    const refusals = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [{ message: messages[i]!, error: o.reason as unknown }] : []));
    return refusals.find((r) => isPermanent(r.error)) ?? refusals[0];
  }

  /**
   * A publish the broker will never accept (no such queue, too large): error-end gets the failure once and
   * the input is acked. Only when error-end itself cannot take it is the input dead-lettered, byte for byte.
   */
  private async divert(delivery: Delivery, refused: Outbound, err: TransportError): Promise<void> {
    const { config, metrics, transport } = this.deps;
    const log = this.logFor(delivery);
    const code = err.reason === 'too_large' ? 'payload_too_large' : 'queue_not_found';
    metrics.failed(code);
    const report = config.isEndActor ? undefined : this.refusalReport(delivery, refused, err, code);
    if (report) {
      const again = await this.publishAll([report], delivery);
      if (!again) {
        log.warn(`Publish to ${refused.queue} refused (${code}: ${err.message}); reported to ${report.queue}`);
        await this.settle(delivery, () => transport.ack(delivery));
        return;
      }
      if (!isPermanent(again.error)) {
        log.error(`Could not report a refused publish, requeueing the input: ${errorText(again.error)}`);
        await sleep(1000, this.deps.stopping);
        await this.settle(delivery, () => transport.nack(delivery, { requeue: true }));
        return;
      }
      err = again.error;
    }
    if (config.isEndActor && !(await this.reportGivenUp(delivery, err))) {
      await sleep(1000, this.deps.stopping);
      await this.settle(delivery, () => transport.nack(delivery, { requeue: true }));
      return;
    }
    log.error(`Dead-lettering the input to ${dlqName(config.actorName)}: ${err.message}`);
    await this.settle(delivery, () => transport.nack(delivery, { requeue: false }));
  }

  /**
   * error-end's publish will never go through (a retry to an actor whose queue was removed): the envelope is
   * over, so the gateway hears `failed` before the input is dead-lettered. A second final status after the
   * crew's own is ignored by the gateway. False when the gateway could not be told (the input waits).
   */
  private async reportGivenUp(delivery: Delivery, err: TransportError): Promise<boolean> {
    const { config, reporter } = this.deps;
    const log = this.logFor(delivery);
    const parsed = parseEnvelope(delivery.body, { endActor: true });
    if (config.actorName !== config.errorEnd || !('envelope' in parsed) || !parsed.envelope.id) return true;
    try {
      await reporter.final(parsed.envelope.id, failedReport(parsed.envelope, { publish_refused: err.message, dead_lettered_to: dlqName(config.actorName) }));
      return true;
    } catch (reportErr) {
      log.error(`Could not report ${parsed.envelope.id} failed: ${errorText(reportErr)}`);
      return false;
    }
  }

  /**
   * The error-end message for a refused publish. A too-large result travels without the payload and the
   * handler's details (they may be what made it too large); a missing queue keeps the payload, so a retry
   * can succeed once the queue exists. Undefined when error-end itself refused an error (nothing to retry).
   */
  private refusalReport(delivery: Delivery, refused: Outbound, err: TransportError, code: 'payload_too_large' | 'queue_not_found') {
    const parsed = parseEnvelope(delivery.body);
    if (!('envelope' in parsed)) return undefined;
    const me = this.deps.config.actorName;
    if (code === 'queue_not_found') {
      if (refused.kind === 'error_end') return undefined;
      const message = `Result of ${me} routed to ${refused.queue}, which does not exist (${err.message})`;
      return errorMessage(parsed.envelope, { message, code, actor: me, details: { type: 'QueueNotFound', queue: refused.queue, message } }, this.ends);
    }
    const { payload: _dropped, ...withoutPayload } = parsed.envelope;
    const what = refused.kind === 'error_end' ? 'The error report' : 'A result';
    const message = `${what} of ${me} is too large for the ${this.deps.transport.kind} transport: ${err.message}`;
    return errorMessage(withoutPayload, { message, code, actor: me }, this.ends);
  }

  private async publish(message: Outbound, hop: HopTrace | undefined): Promise<void> {
    if (!hop) return this.send(message, this.withRetryPolicy(message));
    if (message.kind === 'error_end') {
      const failure = failureOf(message.envelope);
      hopFailed(hop, failure.code, failure.message);
    }
    const { config, transport } = this.deps;
    // An end actor routes onwards only for error-end's retries.
    const retry = config.isEndActor && message.kind === 'routing';
    await tracedPublish(hop, { queue: message.queue, envelope: this.withRetryPolicy(message) }, { transportKind: transport.kind, actor: config.actorName, retry }, (envelope) =>
      this.send(message, envelope),
    );
  }

  private async send(message: Outbound, envelope: object): Promise<void> {
    const body = Buffer.from(JSON.stringify(envelope));
    const started = this.now();
    await this.deps.transport.publish(message.queue, body, message.delayMs ? { delayMs: message.delayMs } : undefined);
    this.deps.metrics.sent(message.queue, message.kind, body.length, this.now() - started);
  }

  /** error-end retries by the failing actor's own spec.retry, which only this actor's sidecar knows. */
  private withRetryPolicy(message: Outbound): object {
    const policy = this.deps.config.retryPolicy;
    if (message.kind !== 'error_end' || !policy || !isPlainObject(message.envelope)) return message.envelope;
    const headers = isPlainObject(message.envelope.headers) ? message.envelope.headers : {};
    return { ...message.envelope, headers: { ...headers, [RETRY_POLICY_HEADER]: policy } };
  }

  private report(input: Envelope, status: 'received' | 'processing' | 'completed', message: string, durationMs?: number): void {
    this.deps.reporter.progress(input.id, {
      actors: input.route.actors,
      current_actor_idx: input.route.current,
      status,
      message,
      ...(durationMs === undefined ? {} : { duration_ms: durationMs }),
    });
  }

  private async settle(delivery: Delivery, action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (err) {
      this.logFor(delivery).warn(`ack/nack failed (the broker will redeliver): ${errorText(err)}`);
    }
  }
}

/** A broker refusal that publishing again would meet again (no such queue, too large). */
function isPermanent(err: unknown): err is TransportError {
  return err instanceof TransportError && isTerminal(err);
}

/** Up to this size an unreadable message travels inside its error, so nothing of it is lost. */
const ORIGINAL_BODY_MAX_BYTES = 64 * 1024;

function originalBody(body: Buffer): { body_base64: string } | { body_bytes: number } {
  return body.length <= ORIGINAL_BODY_MAX_BYTES ? { body_base64: body.toString('base64') } : { body_bytes: body.length };
}

/** An absent or unreadable deadline means none (a malformed one must not fail every message at once). */
function deadlineOf(input: Envelope): number {
  const at = input.deadline ? Date.parse(input.deadline) : Number.NaN;
  return Number.isNaN(at) ? Number.POSITIVE_INFINITY : at;
}

