import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startAwsEmulator, useEmulatorEnv, type AwsEmulator } from './index.js';

// One emulator for a test file: started with the AWS_* environment pointing at it before the
// file's tests, reset before each test, stopped (and the environment restored) after the file.
// Returns a stand-in that forwards to the running emulator, so tests use it like the real one.
export function useAwsEmulator(): AwsEmulator {
  let current: AwsEmulator | undefined;
  let restoreEnv: (() => void) | undefined;
  beforeAll(async () => {
    current = await startAwsEmulator();
    restoreEnv = useEmulatorEnv(current);
  });
  afterAll(async () => {
    restoreEnv?.();
    await current?.stop();
  });
  beforeEach(() => current?.reset());
  return new Proxy({} as AwsEmulator, {
    get(_target, key) {
      if (!current) throw new Error('the AWS emulator is used before beforeAll started it');
      const value: unknown = Reflect.get(current, key);
      return typeof value === 'function' ? value.bind(current) : value;
    },
  });
}
