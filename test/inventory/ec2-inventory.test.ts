import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerInventoryCommands } from '../../src/cli/inventory-command.js';
import { InventoryError } from '../../src/core/errors.js';
import { ExitCode } from '../../src/core/exit-codes.js';
import { formatInventory, loadInventory, type Inventory } from '../../src/inventory/index.js';
import { useEmulatorEnv } from '../support/aws-emulator/index.js';
import { useAwsEmulator } from '../support/aws-emulator/per-file.js';
import { tempFiles } from './temp-files.js';

// EC2 inventories against the local AWS emulator, through the real EC2 client (AWS_ENDPOINT_URL).

const files = tempFiles();
const aws = useAwsEmulator();
let cacheDir: string;

beforeEach(() => {
  cacheDir = mkdtempSync(join(tmpdir(), 'halyard-ec2-cache-'));
});

afterEach(() => rmSync(cacheDir, { recursive: true, force: true }));

function load(content: string, name = 'ec2.yml'): Promise<Inventory> {
  return loadInventory(files.write(name, content), { ec2: { cacheDir } });
}

const describeCalls = () => aws.countRequests({ service: 'ec2', operation: 'DescribeInstances' });

function fleet(): void {
  aws.addInstances([
    { id: 'i-0web1', privateIp: '10.0.1.11', publicIp: '198.51.100.11', tags: { Name: 'web-1', Role: 'web', Env: 'prod' } },
    { id: 'i-0web2', privateIp: '10.0.1.12', publicIp: null, tags: { Name: 'web-2', Role: 'web', Env: 'staging' } },
    { id: 'i-0db1', privateIp: '10.0.2.21', tags: { Name: 'db-1', Role: 'db', Env: 'prod', 'aws:cloudformation:stack-name': 'core' } },
    { id: 'i-0old', privateIp: '10.0.1.99', state: 'stopped', tags: { Name: 'web-old', Role: 'web' } },
  ]);
}

describe('ec2 inventory', () => {
  it('filters by tag, groups by tags, maps chosen tags to host vars, applies vars to all', async () => {
    fleet();
    const inventory = await load(
      [
        'plugin: ec2',
        'regions: [us-east-1]',
        'filters:',
        '  tag:Role: [web, db]',
        '  instance-state-name: running',
        'host_name: tag:Name',
        'groups_from_tags: [Role, Env]',
        'host_vars_from_tags:',
        '  Name: ec2_name',
        'vars:',
        '  ansible_user: admin',
        '  ansible_become: true',
        '',
      ].join('\n'),
    );
    expect(inventory.hosts.map((h) => h.name).sort()).toEqual(['db-1', 'web-1', 'web-2']);
    const web1 = inventory.hosts.find((h) => h.name === 'web-1')!;
    expect(web1).toMatchObject({ address: '10.0.1.11', port: 22, user: 'admin', become: true });
    expect(web1.groups).toEqual(['all', 'Env_prod', 'Role_web']);
    expect(web1.vars).toMatchObject({ ec2_name: 'web-1', ec2_instance_id: 'i-0web1', ec2_region: 'us-east-1', ec2_state: 'running', ec2_public_ip: '198.51.100.11' });
    expect(Object.keys(web1.vars).some((name) => name.startsWith('ec2_tag_'))).toBe(false);
    expect(inventory.groups.get('Role_web')?.hosts.sort()).toEqual(['web-1', 'web-2']);
    expect(inventory.groups.get('Env_staging')?.hosts).toEqual(['web-2']);
    expect(inventory.groups.get('all')?.children.sort()).toEqual(['Env_prod', 'Env_staging', 'Role_db', 'Role_web']);
    // The filters went to EC2 as API filters (one request, server-side filtering).
    expect(describeCalls()).toBe(1);
  });

  it('defaults: instance-id names, private IPs, running instances only, every tag as ec2_tag_<Key>', async () => {
    fleet();
    const inventory = await load('kind: ec2\nregions: [us-east-1]\n');
    expect(inventory.hosts.map((h) => h.name).sort()).toEqual(['i-0db1', 'i-0web1', 'i-0web2']);
    const db = inventory.hosts.find((h) => h.name === 'i-0db1')!;
    expect(db.address).toBe('10.0.2.21');
    expect(db.groups).toEqual(['all', 'ungrouped']);
    expect(db.vars).toMatchObject({ ec2_tag_Name: 'db-1', ec2_tag_Role: 'db', ec2_tag_aws_cloudformation_stack_name: 'core' });
  });

  it('address: public-ip leaves out instances without one; public-dns and private-dns work', async () => {
    fleet();
    const pub = await load('plugin: ec2\nregions: [us-east-1]\naddress: public-ip\n');
    expect(pub.hosts.map((h) => [h.name, h.address])).toEqual([['i-0db1', expect.stringMatching(/^203\.0\.113\./)], ['i-0web1', '198.51.100.11']]);
    const dns = await load('plugin: ec2\nregions: [us-east-1]\naddress: private-dns\nfilters: {instance-id: i-0web1}\ncache_seconds: 0\n');
    expect(dns.hosts[0]?.address).toBe('ip-10-0-1-11.ec2.internal');
    const pubDns = await load('plugin: ec2\nregions: [us-east-1]\naddress: public-dns\nfilters: {instance-id: i-0web1}\ncache_seconds: 0\n');
    expect(pubDns.hosts[0]?.address).toBe('ec2-198-51-100-11.compute-1.amazonaws.com');
  });

  it('reads every page when there are more instances than one page holds', async () => {
    aws.addInstances(Array.from({ length: 13 }, (_, n) => ({ id: `i-${String(n).padStart(4, '0')}`, tags: { Role: n % 2 ? 'web' : 'worker' } })));
    const inventory = await load('plugin: ec2\nregions: [us-east-1]\npage_size: 5\ngroups_from_tags: [Role]\n');
    expect(inventory.hosts).toHaveLength(13);
    expect(describeCalls()).toBe(3);
    expect(inventory.groups.get('Role_web')?.hosts).toHaveLength(6);
    expect(inventory.groups.get('Role_worker')?.hosts).toHaveLength(7);
  });

  it('sends filter values as written (yes is the tag value "yes", 0080 stays 0080)', async () => {
    aws.addInstances([{ id: 'i-yes', tags: { Backup: 'yes', Port: '0080' } }, { id: 'i-true', tags: { Backup: 'true', Port: '80' } }]);
    const inventory = await load('plugin: ec2\nregions: [us-east-1]\nfilters:\n  tag:Backup: yes\n  tag:Port: [0080, "x"]\n');
    expect(inventory.hosts.map((h) => h.name)).toEqual(['i-yes']);
  });

  it('reads several regions', async () => {
    aws.addInstances([{ id: 'i-east', tags: { Name: 'east' } }, { id: 'i-west', region: 'eu-west-1', tags: { Name: 'west' } }]);
    const inventory = await load('plugin: ec2\nregions: [eu-west-1, us-east-1]\nhost_name: tag:Name\n');
    expect(inventory.hosts.map((h) => [h.name, h.vars.ec2_region])).toEqual([
      ['west', 'eu-west-1'],
      ['east', 'us-east-1'],
    ]);
    expect(aws.requests.map((r) => r.region)).toEqual(['eu-west-1', 'us-east-1']);
  });

  it('names hosts that share a Name tag <Name>_<instance-id>', async () => {
    aws.addInstances([{ id: 'i-a', tags: { Name: 'web' } }, { id: 'i-b', tags: { Name: 'web' } }, { id: 'i-c', tags: { Name: 'solo worker' } }, { id: 'i-d' }]);
    const inventory = await load('plugin: ec2\nregions: [us-east-1]\nhost_name: tag:Name\n');
    expect(inventory.hosts.map((h) => h.name).sort()).toEqual(['i-d', 'solo-worker', 'web_i-a', 'web_i-b']);
  });

  it('caches for cache_seconds: a second load makes no request; 0 disables the cache', async () => {
    fleet();
    const path = files.write('cached.yml', 'plugin: ec2\nregions: [us-east-1]\ncache_seconds: 300\n');
    let now = 1_000_000;
    const options = { ec2: { cacheDir, now: () => now } };
    const first = await loadInventory(path, options);
    expect(describeCalls()).toBe(1);
    const cacheFiles = readdirSync(cacheDir);
    expect(cacheFiles).toHaveLength(1);
    expect(statSync(join(cacheDir, cacheFiles[0]!)).mode & 0o777).toBe(0o600);

    aws.addInstances([{ id: 'i-0new' }]);
    const second = await loadInventory(path, options);
    expect(describeCalls()).toBe(1);
    expect(second.hosts.map((h) => h.name)).toEqual(first.hosts.map((h) => h.name));

    now += 301_000; // expired: fetched again, and the new instance appears
    const third = await loadInventory(path, options);
    expect(describeCalls()).toBe(2);
    expect(third.hosts.map((h) => h.name)).toContain('i-0new');

    const uncached = files.write('uncached.yml', 'plugin: ec2\nregions: [us-east-1]\ncache_seconds: 0\n');
    await loadInventory(uncached, options);
    await loadInventory(uncached, options);
    expect(describeCalls()).toBe(4);
  });

  it('uses a separate cache entry per query (filters) and per endpoint', async () => {
    fleet();
    await load('plugin: ec2\nregions: [us-east-1]\nfilters: {tag:Role: web}\n');
    await load('plugin: ec2\nregions: [us-east-1]\nfilters: {tag:Role: db}\n');
    expect(describeCalls()).toBe(2);
    expect(readdirSync(cacheDir)).toHaveLength(2);
  });

  it('retries a throttled DescribeInstances', async () => {
    fleet();
    aws.failNext({ service: 'ec2', operation: 'DescribeInstances', kind: 'throttle', count: 2 });
    const inventory = await load('plugin: ec2\nregions: [us-east-1]\n');
    expect(inventory.hosts).toHaveLength(3);
    expect(describeCalls()).toBe(3);
  });

  it('is shown by `halyard inventory list -i` (and the example file documents every option)', async () => {
    fleet();
    const restore = useEmulatorEnv(aws, { HALYARD_EC2_CACHE_DIR: cacheDir });
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    try {
      const example = resolve(import.meta.dirname, '../../inventory/ec2.example.yml');
      const program = new Command().exitOverride();
      registerInventoryCommands(program);
      await program.parseAsync(['node', 'halyard', 'inventory', 'list', '-i', example]);
      await program.parseAsync(['node', 'halyard', 'inventory', 'list', '-i', example, '--json']);
    } finally {
      spy.mockRestore();
      restore();
    }
    const plain = out[0] ?? '';
    expect(plain).toContain('hosts (2):');
    expect(plain).toMatch(/web-1\n\s+address: 10\.0\.1\.11:22\n\s+user: admin/);
    expect(plain).toContain('groups: all, Env_prod, Role_web');
    const json = JSON.parse(out[1] ?? '') as { hosts: Array<{ name: string; vars: Record<string, unknown> }> };
    expect(json.hosts.map((h) => h.name)).toEqual(['web-1', 'web-2']);
    expect(json.hosts[0]?.vars.ec2_name).toBe('web-1');
    expect(readFileSync(resolve(import.meta.dirname, '../../inventory/ec2.example.yml'), 'utf8')).toMatch(/cache_seconds/);
  });

  it('formats like any inventory (secret-looking tag vars masked)', async () => {
    aws.addInstances([{ id: 'i-1', tags: { ApiToken: 'tag-value-visible-to-ec2-readers' } }]);
    const inventory = await load('plugin: ec2\nregions: [us-east-1]\nhost_vars_from_tags: {ApiToken: api_token}\n');
    expect(formatInventory(inventory, { json: false })).not.toContain('tag-value-visible-to-ec2-readers');
  });
});

interface BadEc2File {
  label: string;
  code: string;
  line: number | null;
  content: string;
  mentions?: string;
}

const BAD_FILES: BadEc2File[] = [
  { label: 'no regions', code: 'E_INVENTORY_EC2_CONFIG', line: 1, content: 'plugin: ec2\nfilters: {tag:Role: web}\n', mentions: 'regions' },
  { label: 'empty regions', code: 'E_INVENTORY_EC2_CONFIG', line: 2, content: 'plugin: ec2\nregions: []\n' },
  { label: 'not a region', code: 'E_INVENTORY_EC2_CONFIG', line: 2, content: 'plugin: ec2\nregions: [ireland]\n', mentions: '"ireland" is not an AWS region' },
  { label: 'regions as a mapping', code: 'E_INVENTORY_TYPE', line: 2, content: 'plugin: ec2\nregions: {a: 1}\n' },
  { label: 'misspelt key', code: 'E_INVENTORY_UNKNOWN_KEY', line: 3, content: 'plugin: ec2\nregions: [us-east-1]\nfilter:\n  tag:Role: web\n', mentions: 'did you mean "filters"?' },
  { label: 'Ansible-only key', code: 'E_INVENTORY_UNKNOWN_KEY', line: 3, content: 'plugin: aws_ec2\nregions: [us-east-1]\nkeyed_groups: []\n' },
  { label: 'filters as a list', code: 'E_INVENTORY_TYPE', line: 3, content: 'plugin: ec2\nregions: [us-east-1]\nfilters: [a, b]\n' },
  { label: 'filter value a mapping', code: 'E_INVENTORY_TYPE', line: 4, content: 'plugin: ec2\nregions: [us-east-1]\nfilters:\n  tag:Role: {a: 1}\n' },
  { label: 'bad address', code: 'E_INVENTORY_EC2_CONFIG', line: 3, content: 'plugin: ec2\nregions: [us-east-1]\naddress: private_ip\n', mentions: 'did you mean "private-ip"?' },
  { label: 'bad host_name', code: 'E_INVENTORY_EC2_CONFIG', line: 3, content: 'plugin: ec2\nregions: [us-east-1]\nhost_name: name\n' },
  { label: 'page_size too small', code: 'E_INVENTORY_EC2_CONFIG', line: 3, content: 'plugin: ec2\nregions: [us-east-1]\npage_size: 2\n', mentions: '5 to 1000' },
  { label: 'negative cache_seconds', code: 'E_INVENTORY_EC2_CONFIG', line: 3, content: 'plugin: ec2\nregions: [us-east-1]\ncache_seconds: -1\n' },
  { label: 'host var name with a dash', code: 'E_INVENTORY_EC2_CONFIG', line: 4, content: 'plugin: ec2\nregions: [us-east-1]\nhost_vars_from_tags:\n  Name: ec2-name\n' },
  { label: 'bad connection var in vars', code: 'E_INVENTORY_TYPE', line: 3, content: 'plugin: ec2\nregions: [us-east-1]\nvars: {ansible_port: ssh}\n' },
  { label: 'duplicate key', code: 'E_INVENTORY_DUPLICATE_KEY', line: 3, content: 'plugin: ec2\nregions: [us-east-1]\nregions: [eu-west-1]\n' },
  { label: 'filter EC2 rejects', code: 'E_INVENTORY_EC2_FETCH', line: null, content: 'plugin: ec2\nregions: [us-east-1]\nfilters: {colour: red}\n', mentions: "InvalidParameterValue: The filter 'colour' is invalid" },
  { label: 'nothing matches', code: 'E_INVENTORY_EMPTY', line: null, content: 'plugin: ec2\nregions: [us-east-1]\nfilters: {tag:Role: nothing}\n', mentions: 'no EC2 instances' },
];

describe('bad ec2 inventories', () => {
  it.each(BAD_FILES)('$label -> $code', async ({ label, code, line, content, mentions }) => {
    aws.addInstances([{ id: 'i-1', tags: { Role: 'web' } }]);
    const path = files.write(`${label}.yml`, content);
    const error = await loadInventory(path, { ec2: { cacheDir } }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(InventoryError);
    const inventoryError = error as InventoryError;
    expect(inventoryError.code).toBe(code);
    expect(inventoryError.message).not.toContain('\n');
    expect(inventoryError.exitCode).toBe(ExitCode.InputError);
    expect(inventoryError.message.startsWith(line === null ? `${path}: ` : `${path}:${line}: `)).toBe(true);
    if (mentions) expect(inventoryError.message).toContain(mentions);
  });

  it('a rejected signature is one line naming the AWS error', async () => {
    const restore = useEmulatorEnv(aws, { AWS_SECRET_ACCESS_KEY: 'wrong' });
    try {
      const error = (await load('plugin: ec2\nregions: [us-east-1]\n').catch((caught: unknown) => caught)) as InventoryError;
      expect(error.code).toBe('E_INVENTORY_EC2_FETCH');
      expect(error.message).toMatch(/: cannot list EC2 instances: EC2 DescribeInstances in us-east-1: SignatureDoesNotMatch: /);
      expect(error.message).not.toContain('\n');
    } finally {
      restore();
    }
  });
});
