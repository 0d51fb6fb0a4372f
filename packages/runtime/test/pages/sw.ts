/// <reference lib="webworker" />
// The test app's service worker: artifacts cache-first and the outbox flushed by Background Sync.
import { installServiceWorker } from '@edgeloop/runtime/sw';

installServiceWorker();
