import { Listr, type ListrTaskWrapper, type ListrDefaultRenderer, type ListrSimpleRenderer } from 'listr2';
import { visibleLine } from '../../core/visible.js';
import type { HostResult } from '../../engine/results.js';
import { hostFailed } from '../../engine/results.js';
import type { ProgressEvent } from './plain.js';

type Wrapper = ListrTaskWrapper<unknown, ListrDefaultRenderer, ListrSimpleRenderer>;

// Live progress on a TTY: one listr2 line per host showing its current task, settled when it finishes.
export class ListrProgress {
  readonly #listr: Listr<unknown, "default", "simple">;
  readonly #wrappers = new Map<string, Wrapper>();
  readonly #finish = new Map<string, (result: HostResult) => void>();
  /** Hosts that finished before listr started their line (an unreachable host can finish at once). */
  readonly #early = new Map<string, HostResult>();
  readonly #check: boolean;
  #running: Promise<unknown> | undefined;

  constructor(hosts: string[], options: { check: boolean }) {
    this.#check = options.check;
    this.#listr = new Listr<unknown, 'default', 'simple'>(
      hosts.map((host) => ({
        title: visibleLine(host),
        task: (_ctx: unknown, wrapper: Wrapper) =>
          new Promise<void>((resolve, reject) => {
            this.#wrappers.set(host, wrapper);
            const finish = (result: HostResult) => {
              wrapper.title = `${visibleLine(host)}  ${this.#summary(result)}`;
              if (hostFailed(result)) reject(new Error(result.unreachable ? 'unreachable' : 'failed'));
              else resolve();
            };
            this.#finish.set(host, finish);
            const early = this.#early.get(host);
            if (early) finish(early);
          }),
      })),
      {
        renderer: 'default',
        fallbackRenderer: 'simple',
        concurrent: true,
        exitOnError: false,
        collectErrors: false,
        rendererOptions: { collapseErrors: true, showErrorMessage: false },
      },
    );
  }

  // Starts rendering; returns at once.
  start(): void {
    this.#running = this.#listr.run().catch(() => undefined);
  }

  // Feeds one engine event to the host's line.
  onEvent(event: ProgressEvent): void {
    const wrapper = this.#wrappers.get(event.host);
    if (event.type === 'host-done') {
      const finish = this.#finish.get(event.host);
      if (finish) finish(event.result);
      else this.#early.set(event.host, event.result);
      return;
    }
    if (!wrapper) return;
    if (event.type === 'phase') wrapper.output = event.phase;
    else if (event.type === 'task-start') wrapper.output = `[${event.index + 1}/${event.total}] running: ${visibleLine(event.name)}`;
    else if (event.type === 'task') wrapper.output = `[${event.index + 1}/${event.total}] ${event.result.status}: ${visibleLine(event.result.name)}`;
  }

  // Waits until listr has drawn the final state.
  async stop(): Promise<void> {
    await this.#running;
  }

  #summary(result: HostResult): string {
    if (result.unreachable) return 'unreachable';
    const changed = this.#check ? 'would change' : 'changed';
    return `ok=${result.ok} ${changed}=${result.changed} failed=${result.failed} execs=${result.execs}`;
  }
}
