// Every spec runs on Nest 12 (ES modules, the root install) and every e2e spec again on
// Nest 11 and Nest 10 (CommonJS, installed by the test/nest11 and test/nest10 workspaces). `npm test` sets
// NODE_OPTIONS=--experimental-vm-modules, which Jest needs to run ES modules.
// Types are checked once by `npm run typecheck`; here ts-jest only transpiles.
const tsJest = (useESM, tsconfig) => ['ts-jest', { useESM, tsconfig, diagnostics: false }];

const stripJsExtension = { '^(\\.{1,2}/.*)\\.js$': '$1' };
const nestPackages = '^@nestjs/(common|core|testing|platform-express|platform-fastify)(/.*)?$';

/**
 * The e2e specs, as CommonJS, against an older Nest installed by a workspace under test/.
 * `mappers` swaps further packages, e.g. Express 4 for the plain-Express host.
 */
const commonJsProject = (major, mappers = {}) => ({
  displayName: `nest${major}-cjs`,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': tsJest(false, '<rootDir>/test/tsconfig.cjs.json') },
  moduleNameMapper: {
    ...stripJsExtension,
    [nestPackages]: `<rootDir>/test/nest${major}/node_modules/@nestjs/$1$2`,
    '^nest-keyring$': '<rootDir>/dist/cjs/index.js',
    '^nest-keyring/(.*)$': '<rootDir>/dist/cjs/$1.js',
    ...mappers,
  },
  testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
  modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/sample-app/dist/'],
});

/** @type {import('jest').Config} */
export default {
  // A spec that starts an app and sends a burst may take seconds on a busy CI machine; a hung one
  // still fails.
  testTimeout: 15_000,
  projects: [
    {
      displayName: 'nest12-esm',
      testEnvironment: 'node',
      extensionsToTreatAsEsm: ['.ts'],
      transform: { '^.+\\.ts$': tsJest(true, '<rootDir>/tsconfig.json') },
      moduleNameMapper: {
        ...stripJsExtension,
        '^nest-keyring$': '<rootDir>/dist/esm/index.js',
        '^nest-keyring/(.*)$': '<rootDir>/dist/esm/$1.js',
        // Mercurius requires @fastify/static, which requires an ES-module-only content-disposition:
        // Jest's module runtime cannot require() it on Node < 24.9; the CommonJS one has the same API.
        '^content-disposition$': '<rootDir>/node_modules/content-disposition/dist/index.js',
      },
      testMatch: ['<rootDir>/test/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
      modulePathIgnorePatterns: ['<rootDir>/dist/', '<rootDir>/sample-app/dist/'],
    },
    commonJsProject(11),
    // Nest 10 brings Express 4: the plain-Express hosts run on it there, on Express 5 elsewhere.
    commonJsProject(10, { '^express(/.*)?$': '<rootDir>/test/nest10/node_modules/express$1' }),
  ],
};
