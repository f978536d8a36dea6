// jasmine-core 3.x without its CLI: one env whose describe/it/expect are globals, as tfjs's
// specs expect. Imported before anything that calls describe().
// jasmine-core is CommonJS in sloppy mode: required, not bundled (see run.mjs).
import {createRequire} from 'node:module';

const jasmineRequire = createRequire(import.meta.url)('jasmine-core/lib/jasmine-core/jasmine.js');

const jasmine = jasmineRequire.core(jasmineRequire);
const env = jasmine.getEnv();
Object.assign(globalThis, jasmineRequire.interface(jasmine, env));
// tfjs's own runners: specs in file order, 20 s per spec.
jasmine.DEFAULT_TIMEOUT_INTERVAL = 20_000;
env.configure({random: false, failSpecWithNoExpectations: false});
