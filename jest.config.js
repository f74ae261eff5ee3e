// Every spec runs on Nest 12 (ES modules, the root install) and every e2e spec again on
// Nest 11 (CommonJS, installed by the test/nest11 workspace). `npm test` sets
// NODE_OPTIONS=--experimental-vm-modules, which Jest needs to run ES modules.
// Types are checked once by `npm run typecheck`; here ts-jest only transpiles.
const tsJest = (useESM, tsconfig) => ['ts-jest', { useESM, tsconfig, diagnostics: false }];

const stripJsExtension = { '^(\\.{1,2}/.*)\\.js$': '$1' };
const nest11Packages = '^@nestjs/(common|core|testing|platform-express|platform-fastify)(/.*)?$';

/** @type {import('jest').Config} */
export default {
  projects: [
    {
      displayName: 'nest12-esm',
      testEnvironment: 'node',
      extensionsToTreatAsEsm: ['.ts'],
      transform: { '^.+\\.ts$': tsJest(true, '<rootDir>/tsconfig.json') },
      moduleNameMapper: { ...stripJsExtension, '^nest-keyring$': '<rootDir>/dist/esm/index.js' },
      testMatch: ['<rootDir>/lib/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
      modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/sample-app/dist/'],
    },
    {
      displayName: 'nest11-cjs',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest(false, '<rootDir>/test/tsconfig.cjs.json') },
      moduleNameMapper: {
        ...stripJsExtension,
        [nest11Packages]: '<rootDir>/test/nest11/node_modules/@nestjs/$1$2',
        '^nest-keyring$': '<rootDir>/dist/cjs/index.js',
      },
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/sample-app/dist/'],
    },
  ],
};
