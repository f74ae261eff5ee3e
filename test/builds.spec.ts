import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHILD_NODE_OPTIONS } from './support/child-env.js';
import { freePort } from './support/sample-processes.js';

// The README's replica recipe on a fresh copy of the repository: two `npm start` 5 s apart both
// serve, and a build (another `npm run keys`, a changed source) never breaks a running instance.
// In a copy, so that its builds leave this checkout's dist/ alone.

const ROOT = process.cwd();

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

describe('builds beside running instances', () => {
  let clone: string;
  const running = new Set<ChildProcess>();

  /** An npm script in the copy, in its own process group (npm, its shell and node stop together). */
  function npm(args: string[], env: Record<string, string> = {}): Run {
    const child = spawn('npm', args, {
      cwd: clone,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        // The scripts' `node` is the one running these tests.
        PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}`,
        NODE_OPTIONS: CHILD_NODE_OPTIONS,
        KEYRING_DB: join(clone, 'shared.sqlite'),
        ...env,
      },
    });
    running.add(child);
    const exited = once(child, 'exit').then(([code]) => {
      running.delete(child);
      return code as number | null;
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    return { child, output: () => output, exited };
  }

  const health = (port: number) =>
    fetch(`http://127.0.0.1:${port}/health`).then(
      (response) => response.status,
      (error: Error) => error.message,
    );

  async function serving(run: Run, port: number) {
    for (let attempt = 0; attempt < 2400; attempt++) {
      if (run.child.exitCode !== null) throw new Error(`npm start exited: ${run.output()}`);
      if ((await health(port)) === 200 && run.output().includes('Demo keys')) return;
      await sleep(100);
    }
    throw new Error(`npm start did not serve: ${run.output()}`);
  }

  beforeAll(() => {
    clone = mkdtempSync(join(tmpdir(), 'keyring-builds-'));
    for (const part of [
      'lib',
      'scripts',
      'sample-app/src',
      'sample-app/tsconfig.json',
      'package.json',
      'package-lock.json',
    ])
      cpSync(join(ROOT, part), join(clone, part), { recursive: true });
    for (const file of readdirSync(ROOT).filter((name) => /^tsconfig.*\.json$/.test(name)))
      cpSync(join(ROOT, file), join(clone, file));
    symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(clone, 'node_modules'));
  });
  afterAll(async () => {
    for (const child of running) process.kill(-child.pid!, 'SIGKILL');
    rmSync(clone, { recursive: true, force: true });
  });

  it('serves from two npm start 5 s apart, and from both through another build', async () => {
    const [firstPort, secondPort] = [await freePort(), await freePort()];
    const first = npm(['start'], { PORT: String(firstPort) });
    await sleep(5_000);
    const second = npm(['start'], { PORT: String(secondPort) });
    await Promise.all([serving(first, firstPort), serving(second, secondPort)]);
    // One build for both: the second waited for the first's, then found it up to date.
    const builds = (first.output() + second.output()).match(/build: package -> dist/g) ?? [];
    expect(builds).toHaveLength(1);

    // A source changes and two builds run at once while both instances serve.
    appendFileSync(join(clone, 'lib/index.ts'), '\n// changed\n');
    const failures: string[] = [];
    let polling = true;
    const poll = (async () => {
      let polls = 0;
      while (polling) {
        for (const port of [firstPort, secondPort]) {
          const status = await health(port);
          if (status !== 200) failures.push(`${port}: ${status}`);
        }
        polls++;
        await sleep(50);
      }
      return polls;
    })();
    const keys = npm(['run', 'keys', '--', 'list']);
    const build = npm(['run', 'build']);
    expect(await keys.exited).toBe(0);
    expect(await build.exited).toBe(0);
    polling = false;
    expect(await poll).toBeGreaterThan(10);
    expect(failures).toEqual([]);
    expect(`${keys.output()}${build.output()}`).not.toMatch(/error|TS\d{4}/i);

    // Still the same two processes, answering their keys.
    for (const [run, port] of [
      [first, firstPort],
      [second, secondPort],
    ] as const) {
      expect(run.child.exitCode).toBeNull();
      const key = /production +(pk_\S+)/.exec(run.output())![1]!;
      const me = await fetch(`http://127.0.0.1:${port}/api/v1/me`, { headers: { 'x-api-key': key } });
      expect(me.status).toBe(200);
    }
    // The new output is whole, and nothing is left behind.
    for (const file of ['dist/esm/index.js', 'dist/cjs/index.js', 'dist/cjs/package.json', 'sample-app/dist/main.js'])
      expect(existsSync(join(clone, file))).toBe(true);
    expect(readdirSync(clone).filter((name) => /^dist\.|^\.build\.lock$/.test(name))).toEqual([]);
    expect(readdirSync(join(clone, 'sample-app')).filter((name) => name.startsWith('dist.'))).toEqual([]);
  }, 600_000);
});
