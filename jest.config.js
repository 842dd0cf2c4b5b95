'use strict';
// Two projects: pure-TypeScript unit tests, and integration tests against the live
// two-site lab, which the integration project's global setup starts once per run
// (or attaches to when one is already running) and its teardown stops.
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }];

module.exports = {
  // Top-level only: jest ignores testTimeout inside a project. Integration tests
  // wait on real daemons; a unit test never comes near this.
  testTimeout: 120000,
  // Two suites at once. jest's default on a 2-core machine is one (cores - 1),
  // but the integration suites mostly wait on rbd-mirror (30 s state checks,
  // 5 s journal commits), not on the CPU: measured 817 s → 352–404 s of jest
  // time for `npm test`. Every suite works on images and pools of its own.
  // (A SIGSEGV of a jest worker seen once in this mode was librbd's stack
  // overflow in mirror-snapshot pruning, reproduced in band too; see
  // docker/ceph-site.sh.) The faults project runs one at a time
  // (scripts/test-faults.sh passes --maxWorkers=1): it kills daemons and runs
  // valgrind, and its timings are part of what it checks.
  maxWorkers: 2,
  projects: [
    {
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
      testEnvironment: 'node',
    },
    {
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
      testEnvironment: 'node',
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
    },
    {
      // `npm run test:install` (after `npm run build:prebuilds`): the packed
      // tarball installed into projects of their own, with the prebuild and
      // without one (a source build). Not part of `npm test`: ~5 minutes.
      displayName: 'install',
      testMatch: ['<rootDir>/test/install/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
      testEnvironment: 'node',
    },
    {
      // `npm run test:faults` (scripts/test-faults.sh): bad input, random
      // interleavings, faults injected into the lab, leaks, exit safety. Not part
      // of `npm test`; shares the lab the same way.
      displayName: 'faults',
      testMatch: ['<rootDir>/test/faults/**/*.test.ts'],
      transform: { '^.+\\.ts$': tsJest },
      testEnvironment: 'node',
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
    },
  ],
};
