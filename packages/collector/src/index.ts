export { buildApp, type App } from './app.js';
export { resolveConfig, type CollectorConfig, type ResolvedConfig } from './config.js';
export { openStorage, StorageUnavailableError, type Storage, type StorageOptions, type Scope } from './storage/index.js';
export { createKey, generateKey, hashKey } from './keys.js';
export { catalogue as errors } from './errors.js';
export { startServer, closeGracefully, type ServeOptions, type RunningCollector } from './server.js';
export { main as runCli } from './cli.js';
export { devKeysPath, readDevKeys, type DevKeys } from './dev-keys.js';
export { sqliteConnection } from './storage/sqlite/db.js';
