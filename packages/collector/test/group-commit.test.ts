import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCommit } from '@edgeloop/collector/internal';
import { StorageUnavailableError } from '@edgeloop/collector';

function recorder(fail: (items: number[]) => Error | undefined = () => undefined, maxWaitMs = 2) {
  const commits: number[][] = [];
  const group = new GroupCommit<number, number>(
    (items) => {
      const err = fail(items);
      if (err) throw err;
      commits.push(items);
      return items.map((x) => x * 10);
    },
    { maxWaitMs },
  );
  return { group, commits };
}

test('writes submitted in the same turn share one commit and each gets its own result', async () => {
  const { group, commits } = recorder();
  const results = await Promise.all([1, 2, 3].map((x) => group.submit(x)));
  assert.deepEqual(results, [10, 20, 30]);
  assert.deepEqual(commits, [[1, 2, 3]]);
});

test('a flush waits for an announced writer so it joins the same commit', async () => {
  const { group, commits } = recorder(undefined, 60_000); // only the arrival may end the wait here
  const arriving = group.expect();
  const first = group.submit(1);
  await new Promise((r) => setImmediate(r)); // the flush would run here without the announcement
  assert.deepEqual(commits, []);
  arriving();
  const second = group.submit(2);
  assert.deepEqual(await Promise.all([first, second]), [10, 20]);
  assert.deepEqual(commits, [[1, 2]]);
});

test('an announced writer that never arrives delays the commit only briefly', async () => {
  const { group, commits } = recorder();
  group.expect(); // never released: the wait is bounded by maxWaitMs
  assert.equal(await group.submit(7), 70);
  assert.deepEqual(commits, [[7]]);
});

test('storage unavailable fails every write of the group; nothing is acked', async () => {
  const { group } = recorder(() => new StorageUnavailableError('sqlite: SQLITE_BUSY'));
  const results = await Promise.allSettled([1, 2].map((x) => group.submit(x)));
  assert.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'rejected'],
  );
});

test('a write that is wrong in itself fails alone; its neighbours are committed', async () => {
  const { group, commits } = recorder((items) => (items.includes(2) ? new Error('constraint') : undefined));
  const results = await Promise.allSettled([1, 2, 3].map((x) => group.submit(x)));
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
  assert.deepEqual(commits, [[1], [3]]);
});
