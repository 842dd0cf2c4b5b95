'use strict';
// Two projects: pure-TypeScript unit tests, and integration tests against the live
// two-site lab, which the integration project's global setup starts once per run
// (or attaches to when one is already running) and its teardown stops.
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }];

module.exports = {
  // Top-level only: jest ignores testTimeout inside a project. Integration tests
  // wait on real daemons; a unit test never comes near this.
  testTimeout: 120000,
  // One suite at a time (jest's default on a 2-core machine; it runs them in
  // band). Two workers halved npm test's jest time (817 s → 352–404 s, every
  // test passing twice), but one fresh-clone CI run then lost the mirror-wait
  // suite to a SIGSEGV of its jest worker, not reproduced in 8 runs of that
  // suite alone nor explained yet (no core); until it is, the configuration
  // every full run so far passed with stays. See the session note.
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
