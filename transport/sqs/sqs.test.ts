import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { capturingLogger } from '../../test/support/capture-logger.ts';
import { startMoto, type MotoServer } from '../../test/support/moto.ts';
import { TestQueues } from '../../test/support/queues.ts';
import { transportConformance } from '../conformance.case.ts';
import { pause, text, waitFor, waitForDepth } from '../conformance-helpers.ts';
import { mapSqsError, SqsTransport, type SqsTransportOptions } from './sqs.ts';
import {
  DELAY_REMAINING_ATTRIBUTE,
  parseRedrivePolicy,
  planDelay,
  remainingDelayOf,
  SQS_MAX_MESSAGE_BYTES,
} from './sqs-policy.ts';

let moto: MotoServer;
beforeAll(async () => {
  moto = await startMoto();
});
afterAll(async () => {
  await moto?.stop();
});

const makeSqs = (extra: SqsTransportOptions = {}) =>
  new SqsTransport({ ...moto.clientConfig, waitTimeSeconds: 1, logger: capturingLogger(), ...extra });

transportConformance('sqs', async () => makeSqs(), {
  maxMessageBytes: SQS_MAX_MESSAGE_BYTES,
});

describe('sqs error mapping', () => {
  // moto accepts any size, so AWS's own answer to an oversized body is stated here as AWS words it.
  const awsError = (name: string, message: string) => Object.assign(new Error(message), { name });

  it('maps an oversized body refused by SQS to too_large, and other invalid input to rejected', () => {
    const tooLong = awsError('InvalidParameterValue', 'One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes.');
    expect(mapSqsError(tooLong, 'publish to asya-a')).toMatchObject({ reason: 'too_large' });
    expect(mapSqsError(awsError('InvalidParameterValue', 'Value -1 for parameter DelaySeconds is invalid.'), 'publish')).toMatchObject({ reason: 'rejected' });
    expect(mapSqsError(awsError('QueueDoesNotExist', 'The specified queue does not exist.'), 'publish')).toMatchObject({ reason: 'not_found' });
  });
});

describe('sqs delay chaining rules', () => {
  it('uses one hop up to the SQS maximum and carries the rest', () => {
    expect(planDelay(0)).toEqual({ delaySeconds: 0, remainingMs: 0 });
    expect(planDelay(1)).toEqual({ delaySeconds: 1, remainingMs: 0 });
    expect(planDelay(1500)).toEqual({ delaySeconds: 2, remainingMs: 0 });
    expect(planDelay(900_000)).toEqual({ delaySeconds: 900, remainingMs: 0 });
    expect(planDelay(900_001)).toEqual({ delaySeconds: 900, remainingMs: 1 });
    expect(planDelay(3_600_000)).toEqual({ delaySeconds: 900, remainingMs: 2_700_000 });
  });

  it('never delivers early however the delay is split', () => {
    for (const [delayMs, maxSeconds] of [[3_600_000, 900], [2500, 1], [7_777, 2], [1, 1], [86_400_000, 900]]) {
      let owed = delayMs!;
      let waited = 0;
      let hops = 0;
      while (owed > 0) {
        const plan = planDelay(owed, maxSeconds);
        waited += plan.delaySeconds * 1000;
        owed = plan.remainingMs;
        hops++;
      }
      expect(waited).toBeGreaterThanOrEqual(delayMs!);
      expect(waited - delayMs!).toBeLessThan(1000 * hops);
      expect(hops).toBe(Math.ceil(delayMs! / (maxSeconds! * 1000)));
    }
  });

  it('reads the owed delay from the message attribute and ignores garbage', () => {
    expect(remainingDelayOf(undefined)).toBe(0);
    expect(remainingDelayOf({ [DELAY_REMAINING_ATTRIBUTE]: { DataType: 'Number', StringValue: '1500' } })).toBe(1500);
    expect(remainingDelayOf({ [DELAY_REMAINING_ATTRIBUTE]: { DataType: 'Number', StringValue: 'soon' } })).toBe(0);
    expect(remainingDelayOf({ [DELAY_REMAINING_ATTRIBUTE]: { DataType: 'Number', StringValue: '-5' } })).toBe(0);
  });

  it('parses redrive policies with a numeric (moto) or string (AWS) maxReceiveCount', () => {
    const arn = 'arn:aws:sqs:us-east-1:123456789012:asya-a-dlq';
    expect(parseRedrivePolicy(JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: 3 }))).toEqual({
      deadLetterTargetArn: arn,
      maxReceiveCount: 3,
    });
    expect(parseRedrivePolicy(JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: '3' }))?.maxReceiveCount).toBe(3);
    expect(parseRedrivePolicy('{not json')).toBeUndefined();
    expect(parseRedrivePolicy(JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: 'x' }))).toBeUndefined();
    expect(parseRedrivePolicy(undefined)).toBeUndefined();
  });
});

describe('SqsTransport against moto', () => {
  const queues = new TestQueues();
  const transports: SqsTransport[] = [];
  const make = (extra?: SqsTransportOptions) => {
    const t = makeSqs(extra);
    transports.push(t);
    return t;
  };
  afterEach(async () => {
    await queues.cleanup(transports[0]!);
    for (const t of transports.splice(0)) await t.close();
  });

  it('keeps a long-running delivery invisible with heartbeats, so no second consumer gets it', async () => {
    const a = make({ visibilityTimeoutSeconds: 1 });
    const b = make({ visibilityTimeoutSeconds: 1 });
    const queue = queues.name('heartbeat');
    await a.ensureQueue(queue);
    await a.publish(queue, Buffer.from('slow work'));
    const seenByA: number[] = [];
    let aDone = false;
    const consumerA = await a.consume(queue, async (d) => {
      seenByA.push(d.deliveryCount);
      await pause(4000); // slow work on purpose: it spans four visibility timeouts, which the heartbeats must cover
      await a.ack(d);
      aDone = true;
    });
    await waitFor(() => seenByA.length === 1, 'consumer A to start');
    const seenByB: string[] = [];
    const consumerB = await b.consume(queue, async (d) => {
      seenByB.push(text(d));
      await b.ack(d);
    });
    await waitFor(() => aDone, 'consumer A to finish');
    // Gone from the queue (neither visible nor held by anyone): no redelivery can reach B any more.
    await waitForDepth(a, queue, { ready: 0, inFlight: 0 });
    await consumerB.stop();
    await consumerA.stop();
    expect(seenByA).toEqual([1]);
    expect(seenByB).toEqual([]);
    await waitForDepth(a, queue, { ready: 0, inFlight: 0 });
  });

  it('chains hops for delays beyond the SQS maximum instead of delivering early', async () => {
    const t = make({ maxDelaySeconds: 1 });
    const queue = queues.name('chain');
    await t.ensureQueue(queue);
    const delayMs = 2500;
    const publishedAt = Date.now();
    await t.publish(queue, Buffer.from('three hops'), { delayMs });
    const arrivals: Array<{ at: number; count: number }> = [];
    const consumer = await t.consume(queue, async (d) => {
      arrivals.push({ at: Date.now(), count: d.deliveryCount });
      await t.ack(d);
    });
    await waitFor(() => arrivals.length === 1, 'the chained message');
    // No hop is left ready, held or delayed: a duplicate delivery cannot come any more.
    await waitForDepth(t, queue, { ready: 0, inFlight: 0, delayed: 0 });
    await consumer.stop();
    expect(arrivals).toHaveLength(1);
    expect(arrivals[0]!.at - publishedAt).toBeGreaterThanOrEqual(delayMs);
    expect(arrivals[0]!.count).toBe(1);
    await waitForDepth(t, queue, { ready: 0, inFlight: 0, delayed: 0 });
  });

  it('reconciles an existing queue in place: visibility and redrive policy, read back leniently', async () => {
    const t = make();
    const queue = queues.name('existing');
    const raw = new SQSClient(moto.clientConfig);
    const { QueueUrl } = await raw.send(new CreateQueueCommand({ QueueName: queue, Attributes: { VisibilityTimeout: '5' } }));
    await t.ensureQueue(queue, { maxDeliveries: 4, processingTimeoutMs: 60_000 });
    const { Attributes } = await raw.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['VisibilityTimeout', 'RedrivePolicy'] }),
    );
    raw.destroy();
    expect(Number(Attributes?.VisibilityTimeout)).toBeGreaterThan(60);
    const policy = parseRedrivePolicy(Attributes?.RedrivePolicy);
    expect(policy?.maxReceiveCount).toBe(4);
    expect(policy?.deadLetterTargetArn.endsWith(`:${queue}-dlq`)).toBe(true);
  });

  it('refuses a body that is not UTF-8 text, since SQS carries strings', async () => {
    const t = make();
    const queue = queues.name('binary');
    await t.ensureQueue(queue);
    await expect(t.publish(queue, Buffer.from([0xff, 0xfe, 0x00]))).rejects.toMatchObject({ reason: 'rejected' });
  });
});
