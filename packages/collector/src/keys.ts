/** API keys: random secrets shown once, stored as sha256 (they carry 256 bits, so no slow hash is needed). */
import { createHash, randomBytes } from 'node:crypto';
import { newId } from '@edgeloop/protocol';
import type { KeyRecord, Scope, Storage } from './storage/index.js';

const PREFIX: Record<Scope, string> = { ingest: 'eli_', trainer: 'elt_', admin: 'ela_' };

/** The stored form of a key: sha256 hex of the secret. */
export function hashKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Makes a new secret for a scope; the prefix only helps people tell keys apart. */
export function generateKey(scope: Scope): string {
  return PREFIX[scope] + randomBytes(32).toString('base64url');
}

/** Creates a key with this secret (idempotent) and returns its record. */
export async function createKey(
  storage: Storage,
  scope: Scope,
  name: string,
  secret = generateKey(scope),
): Promise<{ secret: string; record: KeyRecord }> {
  const record = await storage.keys.create({ id: newId(), name, scope, hash: hashKey(secret), createdAt: Date.now() });
  return { secret, record };
}

/** Which scopes a key's scope includes: admin ⊃ trainer ⊃ ingest. */
export function scopeAllows(have: Scope, need: Scope): boolean {
  const rank: Record<Scope, number> = { ingest: 0, trainer: 1, admin: 2 };
  return rank[have] >= rank[need];
}
