// Runs a checkout's TypeScript source: tsx's loader plus the `source` export condition (workspace packages from
// src/, as `--conditions=source` does). The collector's bin imports it when it runs from a checkout, and worker
// threads import it first when EDGELOOP_THREAD_IMPORT names it (Node 20 does not give a worker its parent's
// loader hooks). Dev tooling only: nothing under packages/*/src imports tsx.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

const addSource =
  'export async function resolve(s, c, next) { return next(s, { ...c, conditions: [...new Set([...c.conditions, "source"])] }); }';
register(`data:text/javascript,${encodeURIComponent(addSource)}`);
registerTsx();

export const SOURCE_LOADER = import.meta.url;
