// What an app that only runs models imports.
export { createRuntime } from '../../../src/index.js';
