// Baseline for bench/hop: the least a hop can do with amqplib. Consume with prefetch, publish the body to
// the next queue with a publisher confirm and a persistent message, then ack. Run as its own process, like
// the sidecar. Args: <amqp url> <input queue> <output routing key> <concurrency> [<prefetch>]
// With `route` as the output routing key it is the least a hop that follows the envelope's route can do
// (bench/curves): parse the envelope, advance route.current, and publish it, re-serialised, to the next actor.
import { consumeRaw } from '../raw-consumer.mjs';

const [url, input, outputKey, concurrency, prefetch] = process.argv.slice(2);

function routed(content) {
  const envelope = JSON.parse(content.toString('utf8'));
  envelope.route.current += 1;
  return { key: envelope.route.actors[envelope.route.current], body: Buffer.from(JSON.stringify(envelope)) };
}

await consumeRaw(url, input, concurrency, (content, publish) => {
  const { key, body } = outputKey === 'route' ? routed(content) : { key: outputKey, body: content };
  return publish(key, body);
}, undefined, prefetch ?? concurrency);
