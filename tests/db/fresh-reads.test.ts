// FreshReadBatcher (the coalescing behind GET /v1/jobs/{id}): concurrent requests for one key share a
// query, but a request never gets the result of a query that was already running when it arrived.
import { describe, expect, it } from 'vitest';
import { FreshReadBatcher } from '../../src/db/freshReads.js';

/** A read whose queries are started and finished by the test; each answers the version current at its start. */
function controlledRead() {
  let version = 0;
  const started: { at: number; finish(): void; fail(err: Error): void }[] = [];
  const read = () =>
    new Promise<number>((resolve, reject) => {
      const at = version;
      started.push({ at, finish: () => resolve(at), fail: reject });
    });
  return { read, started, commit: () => void version++ };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('FreshReadBatcher', () => {
  it('answers every request with a query started after it arrived, batching those that wait together', async () => {
    const b = new FreshReadBatcher<number>();
    const c = controlledRead();
    const first = b.get('job', c.read);
    expect(c.started).toHaveLength(1);
    c.commit(); // a commit lands while the first query runs
    const late = [b.get('job', c.read), b.get('job', c.read), b.get('job', c.read)];
    expect(c.started).toHaveLength(1); // they wait for the next query instead of joining the running one
    c.started[0]!.finish();
    expect(await first).toBe(0);
    await tick();
    expect(c.started).toHaveLength(2); // one query for the three
    c.started[1]!.finish();
    expect(await Promise.all(late)).toEqual([1, 1, 1]); // all see the commit made before they arrived
    expect(b.pending).toBe(0);
  });

  it('keys are independent, and an error reaches every request of its batch only', async () => {
    const b = new FreshReadBatcher<number>();
    const c = controlledRead();
    const a1 = b.get('a', c.read);
    const other = b.get('b', c.read);
    expect(c.started).toHaveLength(2);
    const a2 = b.get('a', c.read);
    const a3 = b.get('a', c.read);
    c.started[0]!.fail(new Error('connection lost'));
    await expect(a1).rejects.toThrow('connection lost');
    await tick();
    c.started[2]!.finish();
    c.started[1]!.finish();
    expect(await Promise.all([a2, a3, other])).toEqual([0, 0, 0]);
    expect(b.pending).toBe(0);
  });

  it('a read that throws synchronously rejects without wedging the key', async () => {
    const b = new FreshReadBatcher<number>();
    await expect(
      b.get('k', () => {
        throw new Error('bad');
      }),
    ).rejects.toThrow('bad');
    expect(await b.get('k', async () => 7)).toBe(7);
    expect(b.pending).toBe(0);
  });
});
