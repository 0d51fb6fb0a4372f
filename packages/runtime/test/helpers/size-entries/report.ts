// An app that also shows the report button.
export { createRuntime, defineReportElement } from '../../../src/index.js';
