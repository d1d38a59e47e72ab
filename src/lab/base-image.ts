import { createHash } from 'node:crypto';
import { access, mkdir, mkdtemp, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerChecked, ensureDockerEngine, imageLabel } from './docker.js';
import { LabError } from './errors.js';
import { withDirLock } from './lock.js';
import { detectDebianMirrors, renderSourcesList, type DebianMirrors } from './mirror.js';
import { labCacheDir } from './paths.js';
import { runChecked } from './process.js';

// The tag every host image builds FROM; made locally because no image registry is reachable.
export const BASE_IMAGE = 'halyard-lab-base:bookworm';

// The Debian release the lab hosts run (what EC2 Debian 12 instances run).
export const BASE_SUITE = 'bookworm';

// Packages added to debootstrap's minbase: sshd, sudo, systemd as PID 1, and what roles and Ansible expect.
export const BASE_PACKAGES = [
  'openssh-server',
  'sudo',
  'systemd',
  'systemd-sysv',
  'dbus',
  'ca-certificates',
  'curl',
  'iproute2',
  'procps',
  'python3',
  'gnupg',
  'lsb-release',
] as const;

// Bump when the rootfs customisation below changes, so cached images and tarballs are rebuilt.
const BASE_RECIPE_VERSION = 2;

// Image label holding the hash of the base image inputs (packages, mirrors, recipe).
export const BASE_HASH_LABEL = 'halyard.base.hash';

// What ensureBaseImage did, for timings in CI logs.
export interface BaseImageResult {
  image: string;
  hash: string;
  /** 'cached' image present; 'tarball' imported from /var/cache; 'debootstrap' built from scratch. */
  source: 'cached' | 'tarball' | 'debootstrap';
  durationMs: number;
}

// Options for building the base image.
export interface BaseImageOptions {
  onProgress?: (message: string) => void;
  /** Rebuild even when the image and tarball exist. */
  force?: boolean;
}

// Hash of everything that decides the base root file system's content.
export function baseImageHash(mirrors: DebianMirrors): string {
  const inputs = JSON.stringify({ suite: BASE_SUITE, packages: BASE_PACKAGES, mirrors, recipe: BASE_RECIPE_VERSION });
  return createHash('sha256').update(inputs).digest('hex').slice(0, 16);
}

// Makes sure halyard-lab-base:bookworm exists: the image if present, else the cached tarball, else debootstrap.
export async function ensureBaseImage(options: BaseImageOptions = {}): Promise<BaseImageResult> {
  const started = Date.now();
  const say = options.onProgress ?? (() => {});
  await ensureDockerEngine();
  const mirrors = await detectDebianMirrors(BASE_SUITE);
  const hash = baseImageHash(mirrors);
  const done = (source: BaseImageResult['source']): BaseImageResult => ({
    image: BASE_IMAGE,
    hash,
    source,
    durationMs: Date.now() - started,
  });
  if (!options.force && (await imageLabel(BASE_IMAGE, BASE_HASH_LABEL)) === hash) return done('cached');

  const cacheDir = labCacheDir();
  await mkdir(cacheDir, { recursive: true });
  return withDirLock(
    join(cacheDir, 'base-image.lock'),
    async () => {
      if (!options.force && (await imageLabel(BASE_IMAGE, BASE_HASH_LABEL)) === hash) return done('cached');
      const tarball = join(cacheDir, `halyard-lab-base-${BASE_SUITE}-${hash}.tar`);
      let source: BaseImageResult['source'] = 'tarball';
      if (options.force || !(await exists(tarball))) {
        source = 'debootstrap';
        await buildRootfsTarball(tarball, mirrors, cacheDir, say);
        await removeOtherTarballs(cacheDir, tarball);
      }
      say(`importing ${tarball} as ${BASE_IMAGE}`);
      await dockerChecked(
        ['import', '--change', `LABEL ${BASE_HASH_LABEL}=${hash}`, '--change', 'CMD ["/bin/bash"]', tarball, BASE_IMAGE],
        { timeoutMs: 10 * 60_000 },
      );
      return done(source);
    },
    { onWait: (owner) => say(`waiting for another base image build (${owner})`) },
  );
}

// debootstraps the root file system, points apt at the same mirrors, fills apt lists, then tars it.
async function buildRootfsTarball(
  tarball: string,
  mirrors: DebianMirrors,
  cacheDir: string,
  say: (message: string) => void,
): Promise<void> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new LabError('E_LAB_NOT_ROOT', `building ${BASE_IMAGE} needs root (debootstrap); run as root or import a prebuilt tarball`);
  }
  const rootfs = await mkdtemp(join(cacheDir, 'rootfs-'));
  try {
    say(`debootstrap ${BASE_SUITE} from ${mirrors.archive} into ${rootfs} (about 90 s)`);
    await runChecked(
      'debootstrap',
      ['--variant=minbase', `--include=${BASE_PACKAGES.join(',')}`, BASE_SUITE, rootfs, mirrors.archive],
      { timeoutMs: 30 * 60_000 },
    ).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new LabError('E_LAB_IMAGE_BUILD', 'debootstrap is not installed (apt-get install debootstrap; see .ci/run)', { cause: error });
      }
      throw error;
    });
    say('configuring apt sources and lists inside the root file system');
    await writeFile(join(rootfs, 'etc/apt/sources.list'), renderSourcesList(mirrors, BASE_SUITE));
    await runChecked('chroot', [rootfs, 'apt-get', 'update', '-q'], { timeoutMs: 10 * 60_000 });
    await runChecked('chroot', [rootfs, 'apt-get', 'clean'], { timeoutMs: 60_000 });
    // Host keys and machine-id must be unique per container: never bake them into the image.
    await runChecked('chroot', [rootfs, 'sh', '-c', 'rm -f /etc/ssh/ssh_host_*'], { timeoutMs: 60_000 });
    await writeFile(join(rootfs, 'etc/machine-id'), '');
    await rm(join(rootfs, 'var/lib/dbus/machine-id'), { force: true });
    const partial = `${tarball}.partial-${process.pid}`;
    say(`writing ${tarball}`);
    await runChecked('tar', ['--numeric-owner', '--xattrs', '--xattrs-include=*', '-C', rootfs, '-cf', partial, '.'], {
      timeoutMs: 10 * 60_000,
    });
    await rename(partial, tarball);
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
}

async function removeOtherTarballs(cacheDir: string, keep: string): Promise<void> {
  for (const name of await readdir(cacheDir)) {
    const path = join(cacheDir, name);
    if (path !== keep && name.startsWith('halyard-lab-base-') && name.endsWith('.tar')) await unlink(path).catch(() => {});
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
