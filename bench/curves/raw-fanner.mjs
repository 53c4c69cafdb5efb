// The raw baseline's fan-out hop: consume an envelope {id, count}, record its `count` children in one
// multi-row INSERT (what the sidecar's registration with the gateway stores), publish each child (persistent,
// confirmed) to the finisher's queue, and ack once every child is confirmed. Its own process, like a sidecar.
// Args: <amqp url> <input queue> <output routing key> <postgres url> <schema>
import postgres from 'postgres';
import { consumeRaw } from '../raw-consumer.mjs';

const [url, input, outputKey, databaseUrl, schema, prefetch] = process.argv.slice(2);
const sql = postgres(databaseUrl, { max: 2, onnotice: () => {}, connection: { search_path: schema } });
await consumeRaw(url, input, 1, async (content, publish) => {
  const { id, count } = JSON.parse(content.toString('utf8'));
  const children = Array.from({ length: count }, (_, index) => ({ id: `${id}-${index}`, parent_id: id, status: 'pending' }));
  await sql`insert into raw_fan_children ${sql(children, 'id', 'parent_id', 'status')}`;
  await Promise.all(children.map((c, index) => publish(outputKey, Buffer.from(JSON.stringify({ id: c.id, parent_id: id, payload: { index, of: count } })))));
}, () => sql.end(), prefetch ?? 1);
