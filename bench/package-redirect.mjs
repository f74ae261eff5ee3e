// Loaded with `node --import` by bench/run.mjs --package-dir DIR: makes `import 'nest-keyring'`
// load DIR/index.js (another ES-module build of the package, e.g. a candidate fix) instead of
// dist/esm, so two builds can be compared without rebuilding dist/.
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';

const dir = process.env.BENCH_PACKAGE_DIR;
if (dir) {
  const source =
    `
    let target;
    export function initialize(data) { target = data; }
    export async function resolve(specifier, context, next) {
      return specifier === 'nest-keyring' ? { url: target, format: 'module', shortCircuit: true } : ` +
    `next(specifier, context);
    }
  `;
  const hooks = `data:text/javascript,${encodeURIComponent(source)}`;
  register(hooks, { data: pathToFileURL(`${dir}/index.js`).href });
}
