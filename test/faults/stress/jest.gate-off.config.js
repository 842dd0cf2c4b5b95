'use strict';
// scripts/stress-workarounds.sh's gate-off runs: the property suite (test/faults/property.test.ts)
// with the SDK's role gate bypassed (gate-off.setup.ts). Not part of any npm script's
// jest projects; run as `npx jest -c test/faults/stress/jest.gate-off.config.js`.
const path = require('node:path');
const base = require('../../../jest.config.js');
const faults = base.projects.find((p) => p.displayName === 'faults');
const rootDir = path.resolve(__dirname, '..', '..', '..');

module.exports = {
  rootDir,
  testTimeout: base.testTimeout,
  maxWorkers: 1,
  projects: [
    {
      ...faults,
      rootDir,
      displayName: 'faults-gate-off',
      testMatch: ['<rootDir>/test/faults/property.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/faults/stress/gate-off.setup.ts'],
    },
  ],
};
