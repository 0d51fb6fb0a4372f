export { buildApp, type App } from './app.js';
export { resolveConfig, type CollectorConfig, type ResolvedConfig } from './config.js';
export { openStorage, StorageUnavailableError, type Storage, type StorageOptions, type Scope } from './storage/index.js';
export { createKey, generateKey, hashKey } from './keys.js';
export { catalogue as errors } from './errors.js';
