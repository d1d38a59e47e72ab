import { dockerChecked } from './docker.js';

const KEY_ORDER = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ssh-rsa'];

// Reads a host's public host keys as `type base64` pairs (ed25519 first), comments dropped.
export async function readHostKeys(container: string): Promise<string[]> {
  const result = await dockerChecked(['exec', container, 'sh', '-c', 'cat /etc/ssh/ssh_host_*_key.pub'], { timeoutMs: 30_000 });
  return parseHostKeys(result.stdout);
}

// Parses `.pub` file contents into `type base64` pairs, in a stable order.
export function parseHostKeys(text: string): string[] {
  const keys = text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((words) => words.length >= 2 && words[0] && words[1])
    .map((words) => `${words[0]} ${words[1]}`);
  const rank = (key: string) => {
    const index = KEY_ORDER.indexOf(key.split(' ')[0] ?? '');
    return index === -1 ? KEY_ORDER.length : index;
  };
  return keys.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}
