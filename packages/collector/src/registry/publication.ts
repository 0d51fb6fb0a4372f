/**
 * Reads a `POST /v1/models/:model/versions` upload: one `meta` part (VersionMeta as JSON, a field or a file) and
 * one file part per artifact, whose field name is its format (`onnx`, `tfjs-layers`) and whose file name is its
 * name in the manifest (e.g. `model.json`, `group1-shard1of1.bin`). Each artifact is hashed here.
 */
import { unstorableMessage, unstorablePath } from '../text.js';
import { createHash } from 'node:crypto';
import { Ajv } from 'ajv';
import type { Multipart } from '@fastify/multipart';
import { Artifact, ArtifactFormat, VersionMeta } from '@edgeloop/protocol';
import { inputSpecProblem } from '@edgeloop/protocol/model-io';
import { EL_INVALID_ARTIFACT, EL_INVALID_VERSION } from '../errors.js';

/** Largest artifact file accepted (PostgreSQL keeps them as bytea, and they are read into memory once). */
export const MAX_ARTIFACT_BYTES = 128 * 1024 * 1024;

/**
 * `@fastify/multipart` limits for an upload: one `meta` field (or a `meta` file) and up to 64 artifact files.
 * Past a limit the upload answers 413 `EL_TOO_MANY_PARTS` or `EL_ARTIFACT_TOO_LARGE` (see error-reply.ts).
 */
export const UPLOAD_LIMITS = {
  fileSize: MAX_ARTIFACT_BYTES,
  files: 64,
  fields: 1,
  parts: 65,
  fieldSize: 1024 * 1024,
} as const;

export interface UploadedArtifact {
  format: ArtifactFormat;
  name: string;
  sha256: string;
  bytes: Buffer;
}

export interface Publication {
  meta: VersionMeta;
  artifacts: UploadedArtifact[];
}

const ajv = new Ajv({
  coerceTypes: false,
  removeAdditional: false,
  useDefaults: false,
  allErrors: false,
  strict: false,
});
const checkMeta = ajv.compile<VersionMeta>(VersionMeta as object);
const checkFormat = ajv.compile<ArtifactFormat>(ArtifactFormat as object);
const checkName = ajv.compile<string>(Artifact.properties.name as object);
const NAME_PATTERN = (Artifact.properties.name as unknown as { pattern: string }).pattern;

/** Reads every part of the upload; throws `EL_INVALID_VERSION` / `EL_INVALID_ARTIFACT` on a bad one. */
export async function readPublication(parts: AsyncIterable<Multipart>): Promise<Publication> {
  let meta: VersionMeta | undefined;
  const artifacts: UploadedArtifact[] = [];
  for await (const part of parts) {
    if (part.fieldname === 'meta') {
      if (meta) throw new EL_INVALID_VERSION('more than one "meta" part');
      const text = part.type === 'file' ? (await part.toBuffer()).toString('utf8') : String(part.value);
      meta = parseMeta(text);
      continue;
    }
    if (part.type !== 'file')
      throw new EL_INVALID_VERSION(`unexpected field "${part.fieldname}": send "meta" and one file part per artifact`);
    const bytes = await part.toBuffer();
    if (!checkFormat(part.fieldname)) {
      throw new EL_INVALID_ARTIFACT(
        `"${part.fieldname}" is not an artifact format: name each file part "onnx" or "tfjs-layers"`,
      );
    }
    if (!checkName(part.filename)) {
      throw new EL_INVALID_ARTIFACT(`file name ${JSON.stringify(part.filename)} must match ${NAME_PATTERN}`);
    }
    if (bytes.length === 0) throw new EL_INVALID_ARTIFACT(`"${part.filename}" is empty`);
    if (artifacts.some((a) => a.format === part.fieldname && a.name === part.filename)) {
      throw new EL_INVALID_ARTIFACT(`"${part.filename}" is uploaded twice for format ${part.fieldname}`);
    }
    artifacts.push({
      format: part.fieldname,
      name: part.filename,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      bytes,
    });
  }
  if (!meta) throw new EL_INVALID_VERSION('the "meta" part (VersionMeta as JSON) is missing');
  if (artifacts.length === 0) throw new EL_INVALID_ARTIFACT('a version needs at least one artifact file part');
  return { meta, artifacts };
}

function parseMeta(text: string): VersionMeta {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new EL_INVALID_VERSION(`"meta" is not JSON: ${(err as Error).message}`);
  }
  if (!checkMeta(value)) throw new EL_INVALID_VERSION(`meta${ajv.errorsText(checkMeta.errors, { dataVar: '' })}`);
  const where = unstorablePath(value);
  if (where !== null) throw new EL_INVALID_VERSION(unstorableMessage(`meta${where}`));
  const input = inputSpecProblem(value.input);
  if (input !== null) throw new EL_INVALID_VERSION(`meta.${input}`);
  return value;
}
