// Finds a Chromium for the browser tests. On a machine without one, `describeWithChromium` says
// so loudly and skips only its suite, as `describeWithRedis` does for Redis.
import { describe } from '@jest/globals';
import { accessSync, constants } from 'node:fs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** CHROMIUM_PATH, or the first Chromium installed where Debian and Ubuntu put it. */
export const chromiumPath = (): string | undefined =>
  [process.env.CHROMIUM_PATH, ...CANDIDATES].find((path) => {
    if (!path) return false;
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });

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
