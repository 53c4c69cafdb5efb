/**
 * Statements of one transaction sent together: each is issued (in argument order) before any is awaited, so
 * postgres.js writes them to the connection in one go and the server answers them in one round trip, in that
 * order; PGlite runs them in turn. Only for statements whose parameters do not depend on each other's results.
 *
 * Unlike Promise.all, it waits until every statement has settled before it rejects with the first failure:
 * the transaction is rolled back only once nothing of it is still to run, so a later statement can never run
 * after the rollback, outside the transaction.
 */
export async function pipelined<A, B>(first: Promise<A>, second: Promise<B>): Promise<[A, B]> {
  const [a, b] = await Promise.allSettled([first, second]);
  if (a.status === 'rejected') throw a.reason;
  if (b.status === 'rejected') throw b.reason;
  return [a.value, b.value];
}
