'use strict';
// Lets a child process run TypeScript sources as they are (`node --require scripts/register-ts.js file.ts`),
// compiled in memory by @swc/core with the project's .swcrc (decorators and their metadata, which Nest
// needs) and the @deals/* paths mapped as in tsconfig. For tests' child processes and the benchmark;
// nothing is written to disk.
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const { transformSync } = require('@swc/core');

const root = path.resolve(__dirname, '..');
const swcrc = JSON.parse(fs.readFileSync(path.join(root, '.swcrc'), 'utf8'));
delete swcrc.$schema;

const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const alias = /^@deals\/([a-z-]+)(\/testing)?$/.exec(request);
  const target = alias ? path.join(root, 'libs', alias[1], 'src', alias[2] ? 'testing' : '') : request;
  return resolveFilename.call(this, target, ...rest);
};

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), { ...swcrc, filename, sourceMaps: 'inline', swcrc: false });
  module._compile(code, filename);
};
