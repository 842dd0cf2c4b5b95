'use strict';
// Two projects: pure-TypeScript unit tests, and integration tests against the live
// two-site lab (started once per run by the global setup, stopped by the teardown).
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }];

module.exports = {
  testTimeout: 60000,
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
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
      testTimeout: 120000,
    },
  ],
};
