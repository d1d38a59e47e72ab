import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { isMap, isPair, isScalar, isSeq, type Node, type Pair, type YAMLMap } from 'yaml';
import { HalyardError, InventoryError } from '../core/errors.js';
import type { Ec2Instance, InstanceFilter, InstanceSource } from '../aws/instances.js';
import { describeType } from './connection-vars.js';
import { RawInventory } from './raw-inventory.js';
import { didYouMean } from './suggest.js';
import { assertUniqueKeys, type YamlSource } from './yaml-source.js';

// An inventory of EC2 instances: a YAML file `plugin: ec2` naming regions and filters; hosts come
// from DescribeInstances (every page), groups and host vars from tags. Results are cached on disk
// for `cache_seconds` (default 300) under ~/.cache/halyard/ec2 (or $HALYARD_EC2_CACHE_DIR).

export const ADDRESS_CHOICES = ['private-ip', 'public-ip', 'private-dns', 'public-dns'] as const;
export type AddressChoice = (typeof ADDRESS_CHOICES)[number];

/** Top-level keys of an ec2 inventory file. */
export const EC2_KEYS = [
  'plugin',
  'kind',
  'regions',
  'filters',
  'address',
  'host_name',
  'groups_from_tags',
  'host_vars_from_tags',
  'vars',
  'cache_seconds',
  'page_size',
] as const;

export const DEFAULT_CACHE_SECONDS = 300;

/** The checked contents of an ec2 inventory file. */
export interface Ec2InventorySpec {
  regions: string[];
  /** Always holds instance-state-name (default: running). */
  filters: InstanceFilter[];
  address: AddressChoice;
  /** 'instance-id', 'tag:<Key>', or one of the address choices. */
  hostName: string;
  groupsFromTags: string[];
  /** Tag key -> var name, or 'all' for every tag as ec2_tag_<Key>. */
  hostVarsFromTags: Record<string, string> | 'all';
  vars: Record<string, unknown>;
  cacheSeconds: number;
  pageSize: number | undefined;
}

export interface Ec2InventoryOptions {
  /** Where instances come from; default the SDK (default credential chain, AWS_ENDPOINT_URL*). */
  source?: InstanceSource;
  /** Cache directory; default $HALYARD_EC2_CACHE_DIR, else ~/.cache/halyard/ec2. */
  cacheDir?: string;
  /** Clock for cache expiry (tests). */
  now?: () => number;
}

// Reads an ec2 inventory file: checks it, fetches (or reads cached) instances, builds the raw model.
export async function readEc2Inventory(yaml: YamlSource, options: Ec2InventoryOptions = {}): Promise<RawInventory> {
  const reader = new SpecReader(yaml);
  const spec = reader.read();
  const instances = await instancesFor(spec, yaml.file, options);
  return buildRaw(spec, instances, yaml.file, reader.lines);
}

// --- the file -------------------------------------------------------------------------------

class SpecReader {
  /** Line of each top-level key, for errors raised later (vars checks, fetch failures). */
  readonly lines = new Map<string, number | undefined>();
  readonly #yaml: YamlSource;

  constructor(yaml: YamlSource) {
    this.#yaml = yaml;
  }

  read(): Ec2InventorySpec {
    const top = this.#yaml.doc.contents as Node | null;
    if (!isMap(top)) throw this.#error('E_INVENTORY_TYPE', 'an ec2 inventory must be a mapping', top);
    assertUniqueKeys(top, this.#yaml, 'E_INVENTORY_DUPLICATE_KEY');
    const pairs = new Map<string, Pair>();
    for (const pair of (top as YAMLMap).items as Pair[]) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!(EC2_KEYS as readonly string[]).includes(key)) {
        throw this.#error(
          'E_INVENTORY_UNKNOWN_KEY',
          `unknown key ${JSON.stringify(key)} in an ec2 inventory (expected ${EC2_KEYS.filter((k) => k !== 'kind').join(', ')})${didYouMean(key, EC2_KEYS)}`,
          pair,
        );
      }
      pairs.set(key, pair);
      this.lines.set(key, this.#line(pair));
    }

    const regionsPair = pairs.get('regions');
    if (!regionsPair) {
      throw new InventoryError('E_INVENTORY_EC2_CONFIG', 'an ec2 inventory needs "regions: [..]" (for example regions: [eu-west-1])', {
        file: this.#yaml.file,
        line: this.lines.get('plugin') ?? this.lines.get('kind'),
      });
    }
    const regions = this.#stringList(regionsPair, 'regions');
    if (regions.length === 0) throw this.#error('E_INVENTORY_EC2_CONFIG', 'regions must name at least one region', regionsPair);
    for (const region of regions) {
      if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
        throw this.#error('E_INVENTORY_EC2_CONFIG', `${JSON.stringify(region)} is not an AWS region name (like eu-west-1)`, regionsPair);
      }
    }
    if (new Set(regions).size !== regions.length) throw this.#error('E_INVENTORY_EC2_CONFIG', 'a region is listed twice in regions', regionsPair);

    return {
      regions,
      filters: this.#filters(pairs.get('filters')),
      address: this.#choice(pairs.get('address'), 'address', ADDRESS_CHOICES, 'private-ip'),
      hostName: this.#hostName(pairs.get('host_name')),
      groupsFromTags: pairs.has('groups_from_tags') ? this.#stringList(pairs.get('groups_from_tags')!, 'groups_from_tags') : [],
      hostVarsFromTags: this.#hostVarsFromTags(pairs.get('host_vars_from_tags')),
      vars: this.#vars(pairs.get('vars')),
      cacheSeconds: this.#integer(pairs.get('cache_seconds'), 'cache_seconds', 0, 365 * 86400) ?? DEFAULT_CACHE_SECONDS,
      pageSize: this.#integer(pairs.get('page_size'), 'page_size', 5, 1000),
    };
  }

  #filters(pair: Pair | undefined): InstanceFilter[] {
    const filters: InstanceFilter[] = [];
    const value = pair ? this.#js(pair) : undefined;
    if (pair && value !== null && value !== undefined) {
      if (typeof value !== 'object' || Array.isArray(value)) {
        throw this.#error('E_INVENTORY_TYPE', `filters must be a mapping of filter name to value(s), like "tag:Role: web", got ${describeType(value)}`, pair);
      }
      for (const [name, raw] of Object.entries(value as Record<string, unknown>)) {
        const values = Array.isArray(raw) ? raw : [raw];
        const where = this.#childPair(pair, name) ?? pair;
        if (values.length === 0 || !values.every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')) {
          throw this.#error('E_INVENTORY_TYPE', `filter ${JSON.stringify(name)} must be a value or a list of values, got ${describeType(raw)}`, where);
        }
        if (name.trim() === '' || name === 'tag:') throw this.#error('E_INVENTORY_EC2_CONFIG', `filter name ${JSON.stringify(name)} is empty`, where);
        filters.push({ name, values: this.#asWritten(where.value as Node | null, values) });
      }
    }
    // Only running instances can be provisioned; say otherwise with an explicit filter.
    if (!filters.some((filter) => filter.name === 'instance-state-name')) filters.push({ name: 'instance-state-name', values: ['running'] });
    return filters;
  }

  #hostName(pair: Pair | undefined): string {
    if (!pair) return 'instance-id';
    const value = this.#js(pair);
    const allowed = ['instance-id', ...ADDRESS_CHOICES];
    if (typeof value === 'string' && (allowed.includes(value) || /^tag:.+/.test(value))) return value;
    throw this.#error('E_INVENTORY_EC2_CONFIG', `host_name must be instance-id, tag:<Key> (like tag:Name) or one of ${ADDRESS_CHOICES.join(', ')}, got ${JSON.stringify(value)}`, pair);
  }

  #hostVarsFromTags(pair: Pair | undefined): Record<string, string> | 'all' {
    if (!pair) return 'all';
    const value = this.#js(pair);
    if (value === 'all' || value === null) return 'all';
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw this.#error('E_INVENTORY_TYPE', `host_vars_from_tags must be a mapping of tag key to var name (like "Name: ec2_name") or "all", got ${describeType(value)}`, pair);
    }
    const mapping: Record<string, string> = {};
    for (const [tag, name] of Object.entries(value as Record<string, unknown>)) {
      if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        throw this.#error('E_INVENTORY_EC2_CONFIG', `host_vars_from_tags: tag ${JSON.stringify(tag)} must map to a var name (letters, digits, _), got ${JSON.stringify(name)}`, this.#childPair(pair, tag) ?? pair);
      }
      mapping[tag] = name;
    }
    return mapping;
  }

  #vars(pair: Pair | undefined): Record<string, unknown> {
    if (!pair) return {};
    const value = this.#js(pair);
    if (value === null || value === undefined) return {};
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw this.#error('E_INVENTORY_TYPE', `vars must be a mapping of var names to values, got ${describeType(value)}`, pair);
    }
    return value as Record<string, unknown>;
  }

  #choice<T extends string>(pair: Pair | undefined, name: string, choices: readonly T[], fallback: T): T {
    if (!pair) return fallback;
    const value = this.#js(pair);
    if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
    throw this.#error('E_INVENTORY_EC2_CONFIG', `${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}${typeof value === 'string' ? didYouMean(value, choices) : ''}`, pair);
  }

  #integer(pair: Pair | undefined, name: string, min: number, max: number): number | undefined {
    if (!pair) return undefined;
    const value = this.#js(pair);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw this.#error('E_INVENTORY_EC2_CONFIG', `${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`, pair);
    }
    return value;
  }

  #stringList(pair: Pair, name: string): string[] {
    const value = this.#js(pair);
    const list = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(list) || !list.every((item) => typeof item === 'string' && item.trim() !== '')) {
      throw this.#error('E_INVENTORY_TYPE', `${name} must be a list of names, got ${describeType(value)}`, pair);
    }
    return list as string[];
  }

  // Filter values as written: `Backup: yes` is the tag value "yes", not YAML 1.1's boolean true.
  #asWritten(node: Node | null, values: unknown[]): string[] {
    const scalars = isSeq(node) ? node.items : [node];
    return values.map((value, index) => {
      const scalar = scalars[index];
      if (typeof value !== 'string' && isScalar(scalar) && scalar.type === 'PLAIN' && scalar.srcToken && 'source' in scalar.srcToken) {
        return String(scalar.srcToken.source);
      }
      return String(value);
    });
  }

  #childPair(pair: Pair, key: string): Pair | undefined {
    const value = pair.value as Node | null;
    if (!isMap(value)) return undefined;
    return (value.items as Pair[]).find((item) => isScalar(item.key) && String(item.key.value) === key);
  }

  #js(pair: Pair): unknown {
    const value = pair.value as Node | null;
    return value === null ? null : value.toJS(this.#yaml.doc, { maxAliasCount: 1000 });
  }

  #line(where: Pair | Node | null): number | undefined {
    if (where === null) return undefined;
    if (isPair(where)) return this.#yaml.lineOf((where.key as Node | null) ?? (where.value as Node | null));
    return this.#yaml.lineOf(where);
  }

  #error(code: string, message: string, where: Pair | Node | null): InventoryError {
    return new InventoryError(code, message, { file: this.#yaml.file, line: this.#line(where) });
  }
}

// --- instances, cached ----------------------------------------------------------------------

interface CacheFile {
  version: 1;
  fetchedAt: number;
  instances: Ec2Instance[];
}

/** $HALYARD_EC2_CACHE_DIR, else ~/.cache/halyard/ec2. */
export function ec2CacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['HALYARD_EC2_CACHE_DIR'];
  if (fromEnv && fromEnv.trim() !== '') return fromEnv;
  return join(homedir(), '.cache', 'halyard', 'ec2');
}

/**
 * The cache file of one query: a hash of what decides the answer (regions, filters, page size)
 * and of where it is asked (endpoint, profile, access key id), so accounts never share entries.
 */
export function ec2CachePath(spec: Ec2InventorySpec, dir: string, env: NodeJS.ProcessEnv = process.env): string {
  const key = JSON.stringify({
    regions: spec.regions,
    filters: spec.filters,
    pageSize: spec.pageSize ?? null,
    endpoint: env['AWS_ENDPOINT_URL_EC2'] ?? env['AWS_ENDPOINT_URL'] ?? null,
    profile: env['AWS_PROFILE'] ?? null,
    accessKeyId: env['AWS_ACCESS_KEY_ID'] ?? null,
  });
  return join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`);
}

async function instancesFor(spec: Ec2InventorySpec, file: string, options: Ec2InventoryOptions): Promise<Ec2Instance[]> {
  const now = options.now ?? Date.now;
  const path = spec.cacheSeconds > 0 ? ec2CachePath(spec, options.cacheDir ?? ec2CacheDir()) : undefined;
  if (path) {
    const cached = await readCache(path);
    if (cached && now() - cached.fetchedAt < spec.cacheSeconds * 1000 && cached.fetchedAt <= now()) return cached.instances;
  }
  const source = options.source ?? (await defaultSource());
  const instances: Ec2Instance[] = [];
  for (const region of spec.regions) {
    try {
      instances.push(...(await source.listInstances({ region, filters: spec.filters, ...(spec.pageSize ? { pageSize: spec.pageSize } : {}) })));
    } catch (error) {
      const message = error instanceof HalyardError ? error.message : error instanceof Error ? error.message : String(error);
      throw new InventoryError('E_INVENTORY_EC2_FETCH', `cannot list EC2 instances: ${message.split('\n')[0]}`, { file, cause: error });
    }
  }
  if (path) await writeCache(path, { version: 1, fetchedAt: now(), instances });
  return instances;
}

// Loaded on demand so reading YAML/INI inventories never loads the AWS SDK.
async function defaultSource(): Promise<InstanceSource> {
  const { sdkInstanceSource } = await import('../aws/instances.js');
  return sdkInstanceSource();
}

async function readCache(path: string): Promise<CacheFile | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<CacheFile>;
    if (parsed.version === 1 && typeof parsed.fetchedAt === 'number' && Array.isArray(parsed.instances)) return parsed as CacheFile;
  } catch {
    // Missing or unreadable: fetch again.
  }
  return undefined;
}

// Best effort: a cache that cannot be written (read-only home) only costs the next run a fetch.
async function writeCache(path: string, content: CacheFile): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const temp = `${path}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(content), { mode: 0o600 });
    await rename(temp, path);
  } catch {
    // ignored
  }
}

// --- hosts, groups, vars --------------------------------------------------------------------

/** Group and var names keep letters, digits and _ (Ansible's keyed groups do the same). */
export function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9_]/g, '_');
}

function addressOf(instance: Ec2Instance, choice: AddressChoice): string | undefined {
  switch (choice) {
    case 'private-ip':
      return instance.privateIp;
    case 'public-ip':
      return instance.publicIp;
    case 'private-dns':
      return instance.privateDns;
    case 'public-dns':
      return instance.publicDns;
  }
}

function preferredName(instance: Ec2Instance, hostName: string): string {
  let name: string | undefined;
  if (hostName === 'instance-id') name = instance.id;
  else if (hostName.startsWith('tag:')) name = instance.tags[hostName.slice(4)];
  else name = addressOf(instance, hostName as AddressChoice);
  const cleaned = (name ?? '').trim().replace(/\s+/g, '-');
  return cleaned === '' ? instance.id : cleaned;
}

function buildRaw(spec: Ec2InventorySpec, found: Ec2Instance[], file: string, lines: Map<string, number | undefined>): RawInventory {
  const raw = new RawInventory(file);
  const varsLine = lines.get('vars');
  raw.addGroupVars('all', raw.varsBlock(spec.vars, { file, lineOf: () => varsLine }));

  // Instances without the chosen address (a stopped instance has no public IP) cannot be reached.
  const instances = found
    .filter((instance) => addressOf(instance, spec.address) !== undefined)
    .sort((a, b) => spec.regions.indexOf(a.region) - spec.regions.indexOf(b.region) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (instances.length === 0) {
    const filters = spec.filters.map((f) => `${f.name}=${f.values.join('|')}`).join(', ');
    throw new InventoryError(
      'E_INVENTORY_EMPTY',
      `no EC2 instances with a ${spec.address} address match (regions ${spec.regions.join(', ')}; filters ${filters})`,
      { file },
    );
  }

  // A name several instances share (two "web" Name tags) becomes name_<instance-id> for each.
  const names = instances.map((instance) => preferredName(instance, spec.hostName));
  const counts = new Map<string, number>();
  for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);

  const tagVarsLine = lines.get('host_vars_from_tags');
  instances.forEach((instance, index) => {
    const preferred = names[index]!;
    const name = (counts.get(preferred) ?? 0) > 1 && preferred !== instance.id ? `${preferred}_${instance.id}` : preferred;
    const vars: Record<string, unknown> = { ansible_host: addressOf(instance, spec.address) };
    const facts: Record<string, string | undefined> = {
      ec2_instance_id: instance.id,
      ec2_region: instance.region,
      ec2_state: instance.state,
      ec2_instance_type: instance.type,
      ec2_availability_zone: instance.availabilityZone,
      ec2_private_ip: instance.privateIp,
      ec2_public_ip: instance.publicIp,
      ec2_private_dns: instance.privateDns,
      ec2_public_dns: instance.publicDns,
      ec2_vpc_id: instance.vpcId,
    };
    for (const [key, value] of Object.entries(facts)) if (value !== undefined) vars[key] = value;
    if (spec.hostVarsFromTags === 'all') {
      for (const [key, value] of Object.entries(instance.tags)) vars[`ec2_tag_${safeName(key)}`] = value;
    } else {
      for (const [tag, varName] of Object.entries(spec.hostVarsFromTags)) {
        const value = instance.tags[tag];
        if (value !== undefined) vars[varName] = value;
      }
    }
    const block = raw.varsBlock(vars, { file, lineOf: (varName) => (varName === 'ansible_host' ? lines.get('address') : tagVarsLine) });

    const groups: string[] = [];
    for (const key of spec.groupsFromTags) {
      const value = instance.tags[key];
      if (value !== undefined && value !== '') groups.push(`${safeName(key)}_${safeName(value)}`);
    }
    if (groups.length === 0) {
      raw.addHost('all', name, undefined, block);
      return;
    }
    groups.forEach((group, position) => {
      raw.addChild('all', group, lines.get('groups_from_tags'));
      raw.addHost(group, name, undefined, position === 0 ? block : undefined);
    });
  });
  return raw;
}
