import { localLink as controllerLink } from '../../src/engine/local-link.js';
import type { HostLink } from '../../src/engine/host-run.js';

// A HostLink whose shell is a local guarded `sh -s` (the engine's ansible_connection: local link):
// exercises the engine and generated scripts without SSH. `undoDir` keeps records of runs as root
// out of this machine's /var/lib.
export function localLink(options: { undoDir?: string } = {}): HostLink & { close(): Promise<void> } {
  return controllerLink({ name: 'local', become: false, becomePassword: undefined }, { undoDir: options.undoDir ?? '/nonexistent/halyard-undo' });
}
