// The raw pipeline's last stage, the counterpart of happy-end: consume, UPDATE the envelope's row to
// succeeded and NOTIFY in the same statement, then ack. Runs as its own process, like the crew.
// Args: <amqp url> <input queue> <concurrency> <postgres url> <schema> <notify channel> [<prefetch>]
import postgres from 'postgres';
import { consumeRaw } from '../raw-consumer.mjs';

const [url, input, concurrency, databaseUrl, schema, channel, prefetch] = process.argv.slice(2);
const sql = postgres(databaseUrl, { max: Number(concurrency), onnotice: () => {}, connection: { search_path: schema } });
await consumeRaw(url, input, concurrency, (content) => {
  const { id, payload } = JSON.parse(content.toString('utf8'));
  return sql`with done as (update raw_envelopes set status = 'succeeded', result = ${sql.json(payload)}, updated_at = now() where id = ${id} returning id)
             select pg_notify(${channel}, id) from done`;
}, () => sql.end(), prefetch ?? concurrency);
