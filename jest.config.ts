import type { Config } from 'jest';

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  moduleFileExtensions: ['ts', 'js', 'json', 'node'],
  // End-to-end tests start real processes on real sockets; give them room on a 2-core machine.
  testTimeout: 30_000,
  maxWorkers: 2,
  // A fresh TMPDIR for the run, and a failed run if anything is left in it (test/suite/temp-dir.ts).
  globalSetup: '<rootDir>/test/suite/global-setup.ts',
  globalTeardown: '<rootDir>/test/suite/global-teardown.ts',
  // Jest's transform cache lives with the dependencies, not in the shared temp dir.
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
};

export default config;
