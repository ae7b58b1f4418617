// Tiers are named by file suffix: *.unit.spec.ts, *.int.spec.ts, *.e2e.spec.ts.
const fs = require('node:fs');
const swcConfig = JSON.parse(fs.readFileSync(`${__dirname}/.swcrc`, 'utf8'));
delete swcConfig.$schema;

const shared = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j)s$': ['@swc/jest', swcConfig] },
  // Jest's own module loader cannot require() ES modules on Node 20, so the few ESM-only
  // dependencies are compiled to CommonJS like our code.
  transformIgnorePatterns: ['/node_modules/(?!(content-disposition)/)'],
  moduleNameMapper: {
    '^@deals/(read-models|platform)/testing$': '<rootDir>/libs/$1/src/testing',
    '^@deals/(domain|event-store|platform|deal-streams|idempotency|read-models|projections|relay|leases)$': '<rootDir>/libs/$1/src',
  },
  setupFiles: ['reflect-metadata'],
};

module.exports = {
  globalSetup: '<rootDir>/scripts/jest-global-setup.js',
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,bench}/**/*.unit.spec.ts'] },
    { ...shared, displayName: 'int', testMatch: ['<rootDir>/{apps,libs}/**/*.int.spec.ts'] },
    { ...shared, displayName: 'e2e', testMatch: ['<rootDir>/{apps,libs}/**/*.e2e.spec.ts'] },
  ],
};
