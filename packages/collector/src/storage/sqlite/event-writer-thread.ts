/**
 * The ingest writer thread (see `event-writer.ts`): its own connection to the database file, the group commit,
 * and one reply per call. While a commit runs, the calls that arrive wait in the port; they are delivered
 * together afterwards and `GroupCommit` puts the writes among them into one transaction.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { StorageUnavailableError } from '../types.js';
import { guard, openSqlite } from './db.js';
import { GroupCommit } from './group-commit.js';
import { groupInserter, type WriterCall, type WriterData, type WriterReply } from './event-writer.js';

const port = parentPort!;
const db = guard(() => openSqlite(workerData as WriterData));
const group = new GroupCommit(groupInserter(db));
const arrivals = new Map<number, () => void>();

function reply(id: number, work: Promise<unknown>): void {
  work.then(
    (value) => port.postMessage({ id, ok: true, value } satisfies WriterReply),
    (err: Error & { code?: string }) =>
      port.postMessage({
        id,
        ok: false,
        error: { message: err.message, code: err.code, unavailable: err instanceof StorageUnavailableError },
      } satisfies WriterReply),
  );
}

port.on('message', (call: WriterCall) => {
  switch (call.type) {
    case 'write':
      reply(call.id, group.submit({ rows: call.rows }));
      break;
    case 'expect':
      arrivals.set(call.id, group.expect());
      break;
    case 'arrived':
      arrivals.get(call.id)?.();
      arrivals.delete(call.id);
      break;
    case 'pragma':
      reply(
        call.id,
        Promise.resolve().then(() => guard(() => db.pragma(call.source, { simple: true }), db)),
      );
      break;
    case 'close':
      group.flush();
      // The replies of that last commit are posted from promise callbacks: let them go out first.
      setImmediate(() => {
        db.close();
        port.postMessage({ id: call.id, ok: true, value: null } satisfies WriterReply);
        port.close();
      });
      break;
  }
});
