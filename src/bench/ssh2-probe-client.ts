// The no-op bench's second baseline: a Node process that uses ssh2 alone (the SSH library halyard
// is built on) to send the same probe as the OpenSSH baseline through `sudo -n sh -s`, one
// connection per host, all at once, host keys checked against known_hosts. Spawned fresh for each
// round, it is the floor of any Node controller: Node's start-up, ssh2's loading and its handshakes,
// none of halyard's own work. Usage: node ssh2-probe-client.js HOSTS.json, where the file holds
// { hosts: [{ name, address, port }], user, keyFile, knownHostsFile, probeFile, answersDir }.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'ssh2';

// What the bench hands the client.
export interface Ssh2ProbeJob {
  hosts: Array<{ name: string; address: string; port: number }>;
  user: string;
  keyFile: string;
  knownHostsFile: string;
  probeFile: string;
  answersDir: string;
}

// The base64 key blobs known_hosts holds for a host (plain entries, `[address]:port` or `address`).
function knownKeysFor(knownHosts: string, address: string, port: number): Set<string> {
  const name = port === 22 ? address : `[${address}]:${port}`;
  const keys = new Set<string>();
  for (const line of knownHosts.split('\n')) {
    const [names, , blob] = line.trim().split(/\s+/);
    if (names !== undefined && blob !== undefined && names.split(',').includes(name)) keys.add(blob);
  }
  return keys;
}

// Sends the probe to one host and writes its stdout to answersDir/NAME.
function probeHost(job: Ssh2ProbeJob, host: Ssh2ProbeJob['hosts'][number], probe: Buffer, knownHosts: string, privateKey: Buffer): Promise<void> {
  const known = knownKeysFor(knownHosts, host.address, host.port);
  return new Promise((done, fail) => {
    const client = new Client();
    client.on('error', (error) => fail(new Error(`${host.name}: ${error.message}`)));
    client.on('ready', () => {
      client.exec('sudo -n sh -s', (error, channel) => {
        if (error) return fail(new Error(`${host.name}: ${error.message}`));
        const chunks: Buffer[] = [];
        let status: number | undefined;
        channel.on('data', (chunk: Buffer) => chunks.push(chunk));
        channel.stderr.resume();
        channel.on('exit', (code: number | null) => (status = code ?? undefined));
        channel.on('close', () => {
          client.end();
          writeFileSync(join(job.answersDir, host.name), Buffer.concat(chunks));
          if (status === 0) done();
          else fail(new Error(`${host.name}: the probe exited ${status}`));
        });
        channel.end(probe);
      });
    });
    client.connect({
      host: host.address,
      port: host.port,
      username: job.user,
      privateKey,
      hostVerifier: (key: Buffer) => known.has(key.toString('base64')),
    });
  });
}

async function main(): Promise<void> {
  const jobFile = process.argv[2];
  if (jobFile === undefined) throw new Error('usage: ssh2-probe-client.js HOSTS.json');
  const job = JSON.parse(readFileSync(jobFile, 'utf8')) as Ssh2ProbeJob;
  const probe = readFileSync(job.probeFile);
  const knownHosts = readFileSync(job.knownHostsFile, 'utf8');
  const privateKey = readFileSync(job.keyFile);
  await Promise.all(job.hosts.map((host) => probeHost(job, host, probe, knownHosts, privateKey)));
}

main().catch((error: unknown) => {
  process.stderr.write(`ssh2-probe-client: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
