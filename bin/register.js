// Loads TypeScript sources at run time (tsx, esbuild-based) and fills what Node 20 lacks for
// aws-local-stepfunctions 3.x (Promise.withResolvers, which Node 22 has natively).
require('../local/polyfills.js');
require('tsx/cjs');
