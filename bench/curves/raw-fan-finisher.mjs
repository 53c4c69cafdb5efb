// The raw baseline's end of a fan-out, the counterpart of happy-end and the gateway together: consume a
// child, mark it succeeded and count it on its parent in one statement, which NOTIFYs the parent's id when
// the count reaches the total; then ack. Its own process, like the crew.
// Args: <amqp url> <input queue> <concurrency> <postgres url> <schema> <notify channel> [<prefetch>]
import postgres from 'postgres';
import { consumeRaw } from '../raw-consumer.mjs';

const [url, input, concurrency, databaseUrl, schema, channel, prefetch] = process.argv.slice(2);
const sql = postgres(databaseUrl, { max: Number(concurrency), onnotice: () => {}, connection: { search_path: schema } });
await consumeRaw(url, input, concurrency, (content) => {
  const { id, parent_id: parent, payload } = JSON.parse(content.toString('utf8'));
  return sql`with child as (update raw_fan_children set status = 'succeeded', result = ${sql.json(payload)} where id = ${id}),
             parent as (update raw_fan set done = done + 1 where id = ${parent} returning id, done, total)
             select pg_notify(${channel}, id) from parent where done = total`;
}, () => sql.end(), prefetch ?? concurrency);
