import type { MetricPoint, MetricsService } from '../aws/metrics.js';
import { errorMessage, type DaemonLogger } from './log.js';
import type { Notifier } from './notify.js';

// Where the jobs' numbers and messages go: CloudWatch and SNS when the file configures them, and
// the daemon's own /metrics always (each value a job publishes is kept there as a gauge). A failed
// publish never fails a job that did its work: it is counted per target
// (halyard_publish_failures_total), logged once per failure streak (`publish-failed` at the first
// failure, `publish-recovered` at the next success), and shown in /healthz without touching its status.

export type PublishTarget = 'cloudwatch' | 'sns';

/** PutMetricData as jobs see it: never throws (a CloudWatch failure is the publisher's business). */
export interface JobMetrics {
  putMetricData(namespace: string, points: MetricPoint[]): Promise<void>;
}

/** SNS as jobs see it: never throws; false when the message could not be delivered (the job may try again next run). */
export interface JobNotifier extends Notifier {
  publish(subject: string, message: string): Promise<boolean>;
}

/** What one job publishes through. */
export interface JobPublishing {
  metrics: JobMetrics;
  notifier: JobNotifier;
}

/** A configured target's failures, for /metrics and /healthz. */
export interface TargetStatus {
  target: PublishTarget;
  /** Failed publishes since the daemon started (one per call, whatever the SDK retried inside it). */
  failures: number;
  /** The last publish failed. */
  failing: boolean;
  lastError: string | undefined;
  lastFailure: string | undefined;
}

/** The last value of one published metric (name and dimensions), for /metrics. */
export interface MetricGauge {
  /** Prometheus name: `halyard_` and the CloudWatch name in snake case (DiskUsedPercent: halyard_disk_used_percent). */
  name: string;
  /** The CloudWatch dimensions, names in snake case (InstanceId: instance_id). */
  labels: Record<string, string>;
  value: number;
  /** Unix seconds when the job published it. */
  updatedSeconds: number;
}

interface TargetState extends TargetStatus {
  streak: number;
}

export class Publisher {
  readonly #logger: DaemonLogger;
  readonly #cloudwatch: Pick<MetricsService, 'putMetricData'> | undefined;
  readonly #sns: Notifier | undefined;
  readonly #now: () => Date;
  readonly #targets = new Map<PublishTarget, TargetState>();
  readonly #gauges = new Map<string, MetricGauge>();

  constructor(options: { logger: DaemonLogger; cloudwatch?: Pick<MetricsService, 'putMetricData'> | undefined; sns?: Notifier | undefined; now?: () => Date }) {
    this.#logger = options.logger;
    this.#cloudwatch = options.cloudwatch;
    this.#sns = options.sns;
    this.#now = options.now ?? (() => new Date());
    for (const [target, configured] of [
      ['cloudwatch', options.cloudwatch],
      ['sns', options.sns],
    ] as const) {
      if (configured) this.#targets.set(target, { target, failures: 0, failing: false, lastError: undefined, lastFailure: undefined, streak: 0 });
    }
  }

  /** The metrics and notifier a job publishes through (its name goes into the logs). */
  forJob(job: string): JobPublishing {
    return {
      metrics: {
        putMetricData: async (namespace, points) => {
          this.#keep(points);
          if (this.#cloudwatch && points.length > 0) await this.#attempt('cloudwatch', job, () => this.#cloudwatch!.putMetricData(namespace, points));
        },
      },
      notifier: {
        publish: async (subject, message) => (this.#sns ? this.#attempt('sns', job, () => this.#sns!.publish(subject, message)) : true),
      },
    };
  }

  /** The configured targets, CloudWatch first. */
  targets(): TargetStatus[] {
    return [...this.#targets.values()].map(({ streak: _streak, ...status }) => status);
  }

  /** The last value of every metric the jobs published, by name, then labels. */
  gauges(): MetricGauge[] {
    return [...this.#gauges.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, gauge]) => gauge);
  }

  // Runs one publish; a failure is counted, logged at the start of a streak, and swallowed.
  async #attempt(target: PublishTarget, job: string, publish: () => Promise<unknown>): Promise<boolean> {
    const state = this.#targets.get(target)!;
    try {
      await publish();
    } catch (error) {
      state.failures++;
      state.streak++;
      state.lastError = errorMessage(error);
      state.lastFailure = this.#now().toISOString();
      if (!state.failing) {
        state.failing = true;
        this.#logger.log('warn', 'publish-failed', { target, job, error: state.lastError, note: 'jobs go on; logged once until a publish succeeds' });
      }
      return false;
    }
    if (state.failing) {
      this.#logger.log('info', 'publish-recovered', { target, job, failures: state.streak });
      state.failing = false;
      state.streak = 0;
    }
    return true;
  }

  #keep(points: MetricPoint[]): void {
    for (const point of points) {
      const name = `halyard_${snakeCase(point.name)}`;
      const labels = Object.fromEntries(Object.entries(point.dimensions ?? {}).map(([key, value]) => [snakeCase(key), value]));
      const key = `${name}{${Object.entries(labels).sort().map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
      this.#gauges.set(key, { name, labels, value: point.value, updatedSeconds: Math.round((point.timestamp ?? this.#now()).getTime() / 1000) });
    }
  }
}

/** `DiskUsedPercent` → `disk_used_percent`; anything but letters, digits and _ becomes _. */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9_]/g, '_')
    .replace(/^(?=\d)/, '_')
    .toLowerCase();
}
