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
};

export default config;
