/** Child process: prints the backend `useBackend(<request>)` picks, as JSON (see webgpu-train.ts for why a child). */
import { releaseBackend, useBackend, type BackendRequest } from '../../src/backend/select.js';

const choice = await useBackend((process.argv[2] ?? 'auto') as BackendRequest);
process.stdout.write(JSON.stringify(choice) + '\n');
await releaseBackend();
