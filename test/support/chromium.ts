// Finds a Chromium for the browser tests. On a machine without one, `describeWithChromium` says
// so loudly and skips only its suite, as `describeWithRedis` does for Redis.
import { describe } from '@jest/globals';
import { spawnSync } from 'node:child_process';

const COMMANDS = ['chromium', 'chromium-browser', 'google-chrome'];

/** CHROMIUM_PATH, or the first of Chromium's usual commands on the PATH. */
export const chromiumPath = (): string | undefined => {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  for (const command of COMMANDS) {
    const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
    const path = found.stdout?.trim();
    if (found.status === 0 && path) return path;
  }
  return undefined;
};

/** `describe` when Chromium is installed; otherwise a loud skip naming the fix. */
export const describeWithChromium = (name: string, body: (executablePath: string) => void): void => {
  const executablePath = chromiumPath();
  if (executablePath !== undefined) {
    describe(name, () => body(executablePath));
    return;
  }
  console.warn(
    `\n*** SKIPPED "${name}": no Chromium on this machine. ` +
      'Install it (Debian: apt-get install -y chromium) or set CHROMIUM_PATH to run the browser tests. ***\n',
  );
  describe.skip(name, () => body(''));
};
