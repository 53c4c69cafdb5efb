// The raw pipeline's last stage, the counterpart of happy-end: consume, UPDATE the envelope's row to
// succeeded and NOTIFY in the same statement, then ack. Runs as its own process, like the crew.
// Args: <amqp url> <input queue> <prefetch> <postgres url> <schema> <notify channel>
import amqp from 'amqplib';
import postgres from 'postgres';

const [url, input, prefetch, databaseUrl, schema, channel] = process.argv.slice(2);
const sql = postgres(databaseUrl, { max: Number(prefetch), onnotice: () => {}, connection: { search_path: schema } });
const connection = await amqp.connect(url);
const consumeChannel = await connection.createChannel();
await consumeChannel.prefetch(Number(prefetch));
await consumeChannel.consume(input, (msg) => {
  if (!msg) return;
  const { id, payload } = JSON.parse(msg.content.toString('utf8'));
  sql`with done as (update raw_envelopes set status = 'succeeded', result = ${sql.json(payload)}, updated_at = now() where id = ${id} returning id)
      select pg_notify(${channel}, id) from done`.then(
    () => consumeChannel.ack(msg),
    (err) => {
      process.stderr.write(`update failed: ${err.message}\n`);
      consumeChannel.nack(msg, false, true);
    },
  );
});
process.stdout.write('consuming\n');
process.on('SIGTERM', async () => {
  await connection.close().catch(() => {});
  await sql.end().catch(() => {});
  process.exit(0);
});
