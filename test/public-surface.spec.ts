import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';

/** Every name (values and types) an entry file exports, sorted. */
function exportedNames(entry: string): string[] {
  const program = ts.createProgram([entry], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    experimentalDecorators: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  return checker
    .getExportsOfModule(moduleSymbol)
    .map((symbol) => symbol.name)
    .sort();
}

// Type-checking two entries takes a few seconds.
const TIMEOUT_MS = 60_000;

describe('the public surface', () => {
  it(
    'exports from the root only what a Nest app writes in code, at most 60 names',
    () => {
      const names = exportedNames('lib/index.ts');
      expect(names.length).toBeLessThanOrEqual(60);
      // Express names live in `nest-keyring/express`; defaults are documented, not exported.
      expect(
        names.filter((name) => /Middleware$|^(DEFAULT|MIN|MAX)_/.test(name) && !name.endsWith('NestMiddleware')),
      ).toEqual([]);
      expect(names).toEqual(
        expect.arrayContaining(['ApiKeyModule', 'ApiKeyGuard', 'ApiKeyAuth', 'Keyring', 'generateApiKey']),
      );
    },
    TIMEOUT_MS,
  );

  it(
    'exports from nest-keyring/express nothing of Nest and no default constants',
    () => {
      const names = exportedNames('lib/express.ts');
      expect(names).toEqual(
        expect.arrayContaining(['apiKeyMiddleware', 'tenantMiddleware', 'webhookSecretMiddleware', 'Keyring']),
      );
      expect(
        names.filter((name) => /^(ApiKey(Module|Guard|Auth)|KeyringException)$|^(DEFAULT|MIN|MAX)_/.test(name)),
      ).toEqual([]);
    },
    TIMEOUT_MS,
  );
});
