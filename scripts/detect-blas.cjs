// Prints 1 when an OpenBLAS cblas header and library are present (Debian's libopenblas-dev),
// else 0. binding.gyp links it only then; hafif's own GEMM is used otherwise.
const fs = require('node:fs');
if (process.env.HAFIF_NO_BLAS === '1') { process.stdout.write('0'); process.exit(0); }
const headers = ['/usr/include/x86_64-linux-gnu/cblas.h', '/usr/include/aarch64-linux-gnu/cblas.h',
  '/usr/include/openblas/cblas.h', '/usr/include/cblas.h', '/usr/local/include/cblas.h'];
const libs = ['/usr/lib/x86_64-linux-gnu/libopenblas.so', '/usr/lib/aarch64-linux-gnu/libopenblas.so',
  '/usr/lib/libopenblas.so', '/usr/local/lib/libopenblas.so'];
const ok = headers.some((p) => fs.existsSync(p)) && libs.some((p) => fs.existsSync(p));
process.stdout.write(ok ? '1' : '0');
