#!/usr/bin/env node
// The edgeloop-trainer command: runs the built CLI (dist/). From a checkout without a build, run
// `node --conditions=source --import tsx packages/trainer/src/cli/run.ts` instead.
import { run } from '../dist/cli/run.js';

await run();
