import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node, type Pair, type YAMLMap } from 'yaml';
import { HalyardError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { didYouMean } from '../inventory/suggest.js';
import { decodeUtf8, describeInvalidUtf8 } from '../core/utf8.js';

// The monitor file (`halyard monitor apply -c FILE`): where alerts go and which alarms to keep.
//
//   region: eu-west-1                 # optional: default the SDK's (AWS_REGION, profile)
//   name: prod                        # optional: default the topic name; scopes ownership
//   topic: halyard-alerts
//   subscriptions:
//     - email: ops@example.com
//     - https: https://hooks.example.com/sns
//   instances:
//     ids: [i-0123456789abcdef0]
//     inventory: ../inventory/ec2.yml # relative to this file; hosts' ec2_instance_id
//   alarms:
//     cpu_percent: 80                 # CPUUtilization average above this ...
//     cpu_minutes: 5                  # ... over this many minutes
//     status_check: true              # StatusCheckFailed
//     recover: false                  # EC2 recover action on StatusCheckFailed_System
//     disk_percent: 85                # halyard/DiskUsedPercent
//     docker: true                    # halyard/DockerDaemonUp < 1
//     backup_schedule_hours: 24       # halyard/BackupHeartbeat missing longer than this (+ grace)
//     backup_grace_hours: 1

export interface Subscription {
  protocol: 'email' | 'https';
  endpoint: string;
}

export interface AlarmSettings {
  /** CPUUtilization average threshold; undefined disables the alarm. */
  cpuPercent: number | undefined;
  cpuMinutes: number;
  statusCheck: boolean;
  recover: boolean;
  diskPercent: number | undefined;
  docker: boolean;
  /** Hours between backups; undefined: no backup heartbeat alarm. */
  backupScheduleHours: number | undefined;
  backupGraceHours: number;
}

export interface MonitorConfig {
  file: string;
  region: string | undefined;
  /** Scopes which alarms this file owns (tag halyard-monitor=<name>). */
  name: string;
  topic: string;
  subscriptions: Subscription[];
  instanceIds: string[];
  /** Absolute path of an ec2 inventory to read instance ids from. */
  inventory: string | undefined;
  alarms: AlarmSettings;
}

export const DEFAULT_ALARMS: AlarmSettings = {
  cpuPercent: 80,
  cpuMinutes: 5,
  statusCheck: true,
  recover: false,
  diskPercent: 85,
  docker: true,
  backupScheduleHours: undefined,
  backupGraceHours: 1,
};

const TOP_KEYS = ['region', 'name', 'topic', 'subscriptions', 'instances', 'alarms'];
const INSTANCE_KEYS = ['ids', 'inventory'];
const ALARM_KEYS = ['cpu_percent', 'cpu_minutes', 'status_check', 'recover', 'disk_percent', 'docker', 'backup_schedule_hours', 'backup_grace_hours'];
const SUBSCRIPTION_PROTOCOLS = ['email', 'https'] as const;
/** CloudWatch evaluates at most 7 days (Period x EvaluationPeriods). */
export const MAX_BACKUP_WINDOW_HOURS = 168;

/** A bad monitor file: one line `file:line: message`, exit code 65. */
export class MonitorConfigError extends HalyardError {
  constructor(message: string, where: { file: string; line?: number | undefined; cause?: unknown }) {
    super('E_MONITOR_CONFIG', `${where.file}${where.line ? `:${where.line}` : ''}: ${message}`, { exitCode: ExitCode.InputError, cause: where.cause });
  }
}

export async function loadMonitorConfig(path: string): Promise<MonitorConfig> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new MonitorConfigError(`cannot read monitor file (${code === 'ENOENT' ? 'no such file' : (code ?? String(error))})`, { file: path, cause: error });
  }
  const decoded = decodeUtf8(bytes);
  if (!decoded.ok) throw new MonitorConfigError(describeInvalidUtf8(decoded), { file: path, line: decoded.line });
  return parseMonitorConfig(decoded.text, path);
}

export function parseMonitorConfig(text: string, file: string): MonitorConfig {
  return new ConfigReader(text, file).read();
}

class ConfigReader {
  readonly #file: string;
  readonly #doc: Document.Parsed;
  readonly #lines = new LineCounter();

  constructor(text: string, file: string) {
    this.#file = file;
    this.#doc = parseDocument(text, { lineCounter: this.#lines, version: '1.1', prettyErrors: true, uniqueKeys: true });
    const error = this.#doc.errors[0];
    if (error) {
      throw new MonitorConfigError(`YAML: ${error.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`, { file, line: error.linePos?.[0].line });
    }
  }

  read(): MonitorConfig {
    const top = this.#doc.contents as Node | null;
    if (!isMap(top)) throw this.#fail('a monitor file must be a mapping with topic, instances, ...', top);
    const pairs = this.#pairs(top, TOP_KEYS, 'the monitor file');

    const topicPair = pairs.get('topic');
    if (!topicPair) throw this.#fail('topic: the SNS topic name is required (like topic: halyard-alerts)', top);
    const topic = this.#string(topicPair, 'topic');
    if (!/^[A-Za-z0-9_-]{1,256}$/.test(topic)) throw this.#fail(`topic ${JSON.stringify(topic)} must be 1-256 letters, digits, - or _`, topicPair);

    const regionPair = pairs.get('region');
    const region = regionPair ? this.#string(regionPair, 'region') : undefined;
    if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) throw this.#fail(`${JSON.stringify(region)} is not an AWS region name (like eu-west-1)`, regionPair!);

    const namePair = pairs.get('name');
    const name = namePair ? this.#string(namePair, 'name') : topic;
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw this.#fail(`name ${JSON.stringify(name)} must be 1-64 letters, digits, ".", - or _`, namePair!);

    const { ids, inventory } = this.#instances(pairs.get('instances'), top);
    return {
      file: this.#file,
      region,
      name,
      topic,
      subscriptions: this.#subscriptions(pairs.get('subscriptions')),
      instanceIds: ids,
      inventory,
      alarms: this.#alarms(pairs.get('alarms')),
    };
  }

  #subscriptions(pair: Pair | undefined): Subscription[] {
    if (!pair || this.#isNull(pair.value)) return [];
    const list = pair.value as Node;
    if (!isSeq(list)) throw this.#fail('subscriptions must be a list like "- email: ops@example.com"', pair);
    const found: Subscription[] = [];
    for (const item of list.items as Node[]) {
      if (!isMap(item) || item.items.length !== 1) throw this.#fail('each subscription is one "email: ADDRESS" or "https: URL"', item);
      const entry = item.items[0] as Pair;
      const protocol = isScalar(entry.key) ? String(entry.key.value) : '';
      if (!(SUBSCRIPTION_PROTOCOLS as readonly string[]).includes(protocol)) {
        throw this.#fail(`subscription protocol ${JSON.stringify(protocol)} is not supported (email or https)${didYouMean(protocol, SUBSCRIPTION_PROTOCOLS)}`, entry);
      }
      const endpoint = this.#string(entry, protocol);
      if (protocol === 'email' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(endpoint)) throw this.#fail(`${JSON.stringify(endpoint)} is not an email address`, entry);
      if (protocol === 'https' && !/^https:\/\/[^\s/]+/.test(endpoint)) throw this.#fail(`${JSON.stringify(endpoint)} is not an https:// URL`, entry);
      if (found.some((s) => s.protocol === protocol && s.endpoint === endpoint)) throw this.#fail(`subscription ${protocol} ${endpoint} is listed twice`, entry);
      found.push({ protocol: protocol as Subscription['protocol'], endpoint });
    }
    return found;
  }

  #instances(pair: Pair | undefined, top: Node): { ids: string[]; inventory: string | undefined } {
    if (!pair || this.#isNull(pair.value)) throw this.#fail('instances: give ids (a list of instance ids) or inventory (an ec2 inventory file)', pair ?? top);
    const value = pair.value as Node;
    let idsNode: Pair | undefined;
    let inventoryPair: Pair | undefined;
    if (isMap(value)) {
      const pairs = this.#pairs(value, INSTANCE_KEYS, 'instances');
      idsNode = pairs.get('ids');
      inventoryPair = pairs.get('inventory');
    } else {
      idsNode = pair; // `instances: [i-1, i-2]` shorthand
    }
    const ids: string[] = [];
    if (idsNode && !this.#isNull(idsNode.value)) {
      const raw = (idsNode.value as Node).toJS(this.#doc) as unknown;
      if (!Array.isArray(raw) || !raw.every((id) => typeof id === 'string')) throw this.#fail('instance ids must be a list like [i-0123456789abcdef0]', idsNode);
      for (const id of raw as string[]) {
        if (!/^i-[A-Za-z0-9]{1,32}$/.test(id)) throw this.#fail(`${JSON.stringify(id)} is not an EC2 instance id (i-...)`, idsNode);
        if (!ids.includes(id)) ids.push(id);
      }
    }
    let inventory: string | undefined;
    if (inventoryPair) {
      const relative = this.#string(inventoryPair, 'inventory');
      inventory = resolve(dirname(resolve(this.#file)), relative);
    }
    if (ids.length === 0 && inventory === undefined) throw this.#fail('instances: give ids (a list of instance ids) or inventory (an ec2 inventory file)', pair);
    return { ids, inventory };
  }

  #alarms(pair: Pair | undefined): AlarmSettings {
    const settings: AlarmSettings = { ...DEFAULT_ALARMS };
    if (!pair || this.#isNull(pair.value)) return settings;
    if (!isMap(pair.value)) throw this.#fail('alarms must be a mapping (cpu_percent: 80, ...)', pair);
    const pairs = this.#pairs(pair.value, ALARM_KEYS, 'alarms');
    const number = (key: string, min: number, max: number, integer: boolean, allowOff: boolean): number | undefined | 'keep' => {
      const p = pairs.get(key);
      if (!p) return 'keep';
      const v = this.#js(p);
      if (allowOff && (v === false || v === null)) return undefined;
      if (typeof v !== 'number' || v < min || v > max || (integer && !Number.isInteger(v))) {
        throw this.#fail(`${key} must be a ${integer ? 'whole ' : ''}number from ${min} to ${max}${allowOff ? ' (or false to turn the alarm off)' : ''}, got ${JSON.stringify(v)}`, p);
      }
      return v;
    };
    const flag = (key: string): boolean | 'keep' => {
      const p = pairs.get(key);
      if (!p) return 'keep';
      const v = this.#js(p);
      if (typeof v !== 'boolean') throw this.#fail(`${key} must be true or false, got ${JSON.stringify(v)}`, p);
      return v;
    };
    const cpu = number('cpu_percent', 1, 100, false, true);
    if (cpu !== 'keep') settings.cpuPercent = cpu;
    const minutes = number('cpu_minutes', 1, 1440, true, false);
    if (minutes !== 'keep' && minutes !== undefined) settings.cpuMinutes = minutes;
    const disk = number('disk_percent', 1, 100, false, true);
    if (disk !== 'keep') settings.diskPercent = disk;
    const status = flag('status_check');
    if (status !== 'keep') settings.statusCheck = status;
    const recover = flag('recover');
    if (recover !== 'keep') settings.recover = recover;
    const docker = flag('docker');
    if (docker !== 'keep') settings.docker = docker;
    const schedule = number('backup_schedule_hours', 1, MAX_BACKUP_WINDOW_HOURS - 1, true, true);
    if (schedule !== 'keep') settings.backupScheduleHours = schedule;
    const grace = number('backup_grace_hours', 0, MAX_BACKUP_WINDOW_HOURS - 1, true, false);
    if (grace !== 'keep' && grace !== undefined) settings.backupGraceHours = grace;
    if (settings.backupScheduleHours !== undefined && settings.backupScheduleHours + settings.backupGraceHours > MAX_BACKUP_WINDOW_HOURS) {
      throw this.#fail(`backup_schedule_hours + backup_grace_hours must be at most ${MAX_BACKUP_WINDOW_HOURS} (CloudWatch evaluates at most 7 days)`, pairs.get('backup_grace_hours') ?? pairs.get('backup_schedule_hours')!);
    }
    return settings;
  }

  // The pairs of a mapping by key, rejecting keys not in `allowed`.
  #pairs(map: YAMLMap, allowed: string[], where: string): Map<string, Pair> {
    const out = new Map<string, Pair>();
    for (const pair of map.items as Pair[]) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!allowed.includes(key)) throw this.#fail(`unknown key ${JSON.stringify(key)} in ${where} (expected ${allowed.join(', ')})${didYouMean(key, allowed)}`, pair);
      out.set(key, pair);
    }
    return out;
  }

  #string(pair: Pair, name: string): string {
    const value = this.#js(pair);
    if (typeof value !== 'string' || value.trim() === '') throw this.#fail(`${name} must be a non-empty string, got ${JSON.stringify(value ?? null)}`, pair);
    return value;
  }

  #js(pair: Pair): unknown {
    const value = pair.value as Node | null;
    return value === null ? null : value.toJS(this.#doc);
  }

  #isNull(node: unknown): boolean {
    return node === null || node === undefined || (isScalar(node) && node.value === null);
  }

  #fail(message: string, where: Pair | Node | null): MonitorConfigError {
    let node: Node | null = null;
    if (where !== null) node = isPair(where) ? ((where.key as Node | null) ?? (where.value as Node | null)) : where;
    const offset = node?.range?.[0];
    return new MonitorConfigError(message, { file: this.#file, line: offset === undefined ? undefined : this.#lines.linePos(offset).line });
  }
}
