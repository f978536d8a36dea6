// Registers hafif's backends (importing the build makes `native` active) and tells tfjs's
// describeWithFlags which backend the specs run on. Must run before the specs load.
import '../../dist/index.js';
import {setTestEnvs} from '@tensorflow/tfjs-core/dist/jasmine_util.js';

const backendName = process.env.HAFIF_CONFORMANCE_BACKEND ?? 'native';
if (backendName !== 'native' && backendName !== 'cpu') {
  throw new Error(`HAFIF_CONFORMANCE_BACKEND must be native or cpu, got ${backendName}`);
}
setTestEnvs([{name: backendName, backendName, isDataSync: true}]);
