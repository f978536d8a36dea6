// The specs of tfjs-core's suite that the conformance run leaves out, each with its reason: only
// what tfjs itself leaves out in Node. An entry that matches no spec fails the run (stale skip).
//
// Empty for tfjs-core 4.22: tfjs's Node runners (tfjs-backend-cpu/run_tests.ts) exclude only
// 'computation in worker', which dist/tests.js does not contain; browser-only specs (IndexedDB,
// localStorage, browser files, HTTP in the browser) are declared with tfjs's BROWSER_ENVS and are
// never registered in Node; the specs tfjs disabled with xit are reported as skipped.
/** @type {{match: string, reason: string}[]} */
export const SKIPS = [];
