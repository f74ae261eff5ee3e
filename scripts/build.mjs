// Builds the package twice, as ES modules (dist/esm) and as CommonJS (dist/cjs), so that
// Nest 12 (ESM only) apps and Nest 10/11 CommonJS apps both load it natively.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
rmSync('dist', { recursive: true, force: true });
for (const project of ['tsconfig.build.json', 'tsconfig.build.cjs.json']) {
  execFileSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit' });
}
// The root package.json says "type": "module"; this marks the CommonJS half as such.
writeFileSync('dist/cjs/package.json', JSON.stringify({ type: 'commonjs' }) + '\n');
