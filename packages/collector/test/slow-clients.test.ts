/**
 * Slow clients cannot hold connections for ever: one that stops in the middle of its body is closed after the idle
 * timeout, one that sends its body a byte at a time gets 408 after the request timeout, and nothing of either is
 * stored, while a good request beside them is answered and stored. On both stores.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { App } from '@edgeloop/collector';
import { predictions } from './helpers/events.js';
import { bearer, KEYS, makeApp, STORE_KINDS } from './helpers/stores.js';

/** Opens a connection and sends a POST /v1/events whose body is `declared` bytes long, but only `sent` of them. */
function partialPost(port: number, body: string, sent: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        `POST /v1/events HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
          `authorization: Bearer ${KEYS.ingest}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n` +
          body.slice(0, sent),
      );
      resolve(socket);
    });
    socket.on('error', reject);
  });
}

/** What the server sent before it closed the connection (rejects after `deadlineMs`: a deadline, not a timing). */
function untilClosed(socket: Socket, deadlineMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    socket.on('data', (d) => (received += d.toString()));
    const timer = setTimeout(
      () => reject(new Error(`the connection was still open after ${deadlineMs} ms`)),
      deadlineMs,
    );
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
  });
}

for (const kind of STORE_KINDS) {
  describe(`slow clients (${kind})`, () => {
    let app: App;
    let close: () => Promise<void>;
    let port: number;
    before(async () => {
      ({ app, close } = await makeApp(kind, { idleTimeoutMs: 400, requestTimeoutMs: 1500 }));
      await app.listen({ host: '127.0.0.1', port: 0 });
      port = (app.server.address() as { port: number }).port;
      // SQLite's writer thread starts with the first write, and from TypeScript source its start compiles the
      // thread's modules (about a second on 2 cores): longer than the 400 ms idle timeout, which would then close the
      // good request's connection below. One write first, through the store, so that the timeouts meet the slow
      // clients alone.
      await app.storage.events.insert(predictions(1, { model: 'warm-up' }), Date.now());
    });
    after(() => close());

    test('a body that stops half-way: the connection is closed after the idle timeout, nothing stored', async () => {
      const body = JSON.stringify({ events: predictions(5, { model: 'stalled' }) });
      const socket = await partialPost(port, body, Math.floor(body.length / 2));
      await untilClosed(socket, 20_000);
      assert.equal(await app.storage.events.count({ model: 'stalled' }), 0);
    });

    test('a body sent a byte at a time: 408 after the request timeout, nothing stored; a good request beside it is stored', async () => {
      const body = JSON.stringify({ events: predictions(5, { model: 'dripped' }) });
      const socket = await partialPost(port, body, 1);
      let at = 1;
      // Never idle for the idle timeout, never finished.
      const drip = setInterval(() => at < body.length - 1 && socket.write(body[at++]!), 100);
      try {
        const good = await fetch(`http://127.0.0.1:${port}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...bearer(KEYS.ingest) },
          body: JSON.stringify({ events: predictions(3, { model: 'beside' }) }),
        });
        assert.equal(good.status, 200, await good.text());
        const answer = await untilClosed(socket, 20_000);
        assert.match(answer, /^HTTP\/1\.1 408/);
        assert.match(answer, /"code":"EL_REQUEST_TIMEOUT"/);
      } finally {
        clearInterval(drip);
        socket.destroy();
      }
      assert.equal(await app.storage.events.count({ model: 'dripped' }), 0);
      assert.equal(await app.storage.events.count({ model: 'beside' }), 3);
    });

    test("requests Node's HTTP parser refuses are answered in the error format with a code, and the connection closed", async () => {
      const raw = (text: string) =>
        new Promise<string>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1', () => socket.write(text));
          socket.on('error', reject);
          void untilClosed(socket, 10_000).then(resolve, reject);
        });
      const cases: [string, number, string][] = [
        ['GET /healthz HTTP/1.1\r\nhost: x\r\nnot a header\r\n\r\n', 400, 'EL_INVALID_BODY'],
        ['NOT A REQUEST\r\n\r\n', 400, 'EL_INVALID_BODY'],
        [`GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'EL_HEADERS_TOO_LARGE'],
      ];
      for (const [text, status, code] of cases) {
        const answer = await raw(text);
        assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `), answer);
        const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { code: string; statusCode: number };
        assert.deepEqual([body.statusCode, body.code], [status, code]);
      }
    });
  });
}
