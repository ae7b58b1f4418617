'use strict';
// Lets a child process run the TypeScript sources as they are (`node --require register-ts.js file.ts`):
// each .ts file is compiled with @swc/core when required. Only for test helpers; nothing is written to disk.
const { transformFileSync } = require('@swc/core');

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformFileSync(filename, {
    swcrc: false,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
