export { installServiceWorker, flushOutboxes } from './service-worker.js';
export { SYNC_TAG } from './register.js';
