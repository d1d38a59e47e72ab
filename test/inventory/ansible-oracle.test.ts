// Inventories shaped like Ansible repositories (several -i, directories, group_vars/ and host_vars/
// files and folders, a playbook's own vars, priorities), read by Debian's ansible-inventory and by
// halyard: the same hosts, and for every host the same vars.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isSecret } from '../../src/core/secret.js';
import { loadInventory } from '../../src/inventory/index.js';

interface Case {
  name: string;
  files: Record<string, string>;
  /** The -i values, relative to the case's folder. */
  sources: string[];
  /** The playbook's folder, relative to the case's folder (default: an empty folder). */
  playDir?: string;
}

const CASES: Case[] = [
  {
    name: 'INI with group_vars and host_vars files beside it',
    files: {
      'hosts': '[web]\nw1 http_port=80\nw2\n\n[db]\nd1\n\n[web:vars]\ntier=front\n',
      'group_vars/web.yml': 'tier: web-from-file\nlisten: 8080\n',
      'group_vars/all.yml': 'ntp: pool.ntp.org\ntier: from-all\n',
      'host_vars/w1.yml': 'http_port: 8081\nrole: primary\n',
    },
    sources: ['hosts'],
  },
  {
    name: 'group_vars as a folder (files in name order, the later wins) hides web.yml',
    files: {
      'inventory.yml': 'all:\n  children:\n    web:\n      hosts:\n        w1: {}\n',
      'group_vars/web/a.yml': 'a: 1\nshared: from-a\n',
      'group_vars/web/b.yaml': 'b: 2\nshared: from-b\n',
      'group_vars/web/notes.txt': 'ignored: true\n',
      'group_vars/web/sub/c.yml': 'c: 3\n',
      'group_vars/web.yml': 'hidden: true\n',
    },
    sources: ['inventory.yml'],
  },
  {
    name: 'group_vars/all beats [group:vars] of the inventory file; host vars beat every group var',
    files: {
      'hosts.yml': 'all:\n  vars:\n    level: all-inventory\n  children:\n    web:\n      vars:\n        level: web-inventory\n        only_web: 1\n      hosts:\n        w1:\n          hostlevel: inline\n',
      'group_vars/all.yml': 'level: all-file\nhostlevel: all-file\n',
    },
    sources: ['hosts.yml'],
  },
  {
    name: 'two sources: memberships add up, a later source overwrites, its group_vars/parent beats the first source\'s group_vars/child',
    files: {
      'one/hosts.yml': 'all:\n  children:\n    parent:\n      children:\n        child:\n          hosts:\n            h1: {x: one}\n',
      'one/group_vars/child.yml': 'from: one-child\n',
      'two/hosts.yml': 'all:\n  children:\n    other:\n      hosts:\n        h1: {x: two}\n        h2: {}\n',
      'two/group_vars/parent.yml': 'from: two-parent\n',
    },
    sources: ['one/hosts.yml', 'two/hosts.yml'],
  },
  {
    name: 'ansible_group_priority orders groups of equal depth; then the later name wins',
    files: {
      'hosts': '[ga]\nh1\n[gb]\nh1\n[gc]\nh1\n[ga:vars]\nv=a\n[gb:vars]\nv=b\nansible_group_priority=5\n[gc:vars]\nv=c\nw=c\n[ga:vars]\nw=a\n',
    },
    sources: ['hosts'],
  },
  {
    name: 'a directory: files in byte order, subfolders read, .ini, .md and hidden files skipped',
    files: {
      'inv/10-web.yml': 'all:\n  children:\n    web:\n      hosts:\n        w1: {from: yml}\n',
      'inv/20-db': '[db]\nd1 from=noext\n[web]\nw2\n',
      'inv/hosts.ini': '[ignored]\nz1\n',
      'inv/README.md': '# notes\n',
      'inv/.hidden.yml': 'all:\n  hosts:\n    hidden1: {}\n',
      'inv/sub/more.yml': 'all:\n  children:\n    db:\n      hosts:\n        d2: {}\n',
      'inv/group_vars/web.yml': 'web_var: 1\n',
      'inv/host_vars/d1.yml': 'from: host_vars\n',
    },
    sources: ['inv'],
  },
  {
    name: 'deeper groups win over shallower ones',
    files: {
      'hosts': '[grand:children]\nparent\n[parent:children]\nchild\n[child]\nh1\n[zzz]\nh1\n[grand:vars]\nv=grand\n[parent:vars]\nv=parent\n[child:vars]\nv=child\n[zzz:vars]\nv=zzz\n',
    },
    sources: ['hosts'],
  },
  {
    name: 'host_vars folder, a JSON group_vars file and a file without an extension',
    files: {
      'hosts.yml': 'all:\n  children:\n    api:\n      hosts:\n        a1: {}\n    cache:\n      hosts:\n        a1: {}\n',
      'group_vars/api.json': '{"api_port": 9000, "list": [1, 2]}\n',
      'group_vars/cache': 'cache_size: 64\n',
      'host_vars/a1/main.yml': 'one: 1\n',
      'host_vars/a1/secrets.yml': 'two: 2\none: 11\n',
    },
    sources: ['hosts.yml'],
  },
  {
    name: "the playbook's group_vars and host_vars beat the inventory's",
    files: {
      'inventory/hosts': '[web]\nw1\n',
      'inventory/group_vars/web.yml': 'v: inventory\nkeep: inventory\n',
      'inventory/host_vars/w1.yml': 'hv: inventory\n',
      'playbooks/group_vars/web.yml': 'v: playbook\n',
      'playbooks/host_vars/w1.yml': 'hv: playbook\n',
    },
    sources: ['inventory/hosts'],
    playDir: 'playbooks',
  },
  {
    name: 'hosts directly under all (and before any INI section) are ungrouped; ports and ranges',
    files: {
      'hosts': 'lonely ansible_host=10.0.0.9\nweb[01:03]:2222 kind=web\n[db]\ndb-[a:b] kind=db\n',
    },
    sources: ['hosts'],
  },
  {
    name: 'kubespray-shaped: k8s_cluster of control plane and nodes, etcd, group_vars folders',
    files: {
      'inventory/mycluster/hosts.yaml':
        'all:\n  hosts:\n    node1: {ansible_host: 10.0.0.1, ip: 10.0.0.1, access_ip: 10.0.0.1}\n    node2: {ansible_host: 10.0.0.2, ip: 10.0.0.2}\n    node3: {ansible_host: 10.0.0.3}\n  children:\n    kube_control_plane:\n      hosts: {node1: null, node2: null}\n    kube_node:\n      hosts: {node1: null, node2: null, node3: null}\n    etcd:\n      hosts: {node1: null}\n    k8s_cluster:\n      children: {kube_control_plane: null, kube_node: null}\n    calico_rr:\n      hosts: {}\n',
      'inventory/mycluster/group_vars/all/all.yml': 'bin_dir: /usr/local/bin\nloadbalancer_apiserver_port: 6443\n',
      'inventory/mycluster/group_vars/all/etcd.yml': 'etcd_data_dir: /var/lib/etcd\n',
      'inventory/mycluster/group_vars/k8s_cluster/k8s-cluster.yml': 'kube_network_plugin: calico\nkube_version: v1.29.0\n',
      'inventory/mycluster/group_vars/k8s_cluster/addons.yml': 'helm_enabled: false\nkube_network_plugin: cilium\n',
      'inventory/mycluster/group_vars/etcd.yml': 'etcd_deployment_type: host\n',
    },
    sources: ['inventory/mycluster/hosts.yaml'],
  },
  {
    name: 'trellis-shaped: per-environment folders, group_vars/all with main and vault-named files',
    files: {
      'hosts/production': '[production]\n192.0.2.10\n\n[web]\n192.0.2.10\n',
      'hosts/staging': '[staging]\n192.0.2.20\n\n[web]\n192.0.2.20\n',
      'group_vars/all/main.yml': 'admin_user: admin\nweb_user: web\n',
      'group_vars/all/users.yml': 'users: [{name: web, groups: [www-data]}]\n',
      'group_vars/production/main.yml': 'env: production\nwordpress_sites: {example.com: {ssl: {enabled: true}}}\n',
      'group_vars/staging/main.yml': 'env: staging\n',
    },
    sources: ['hosts/production', 'hosts/staging'],
    playDir: '.',
  },
  {
    name: 'openshift-shaped INI: OSEv3 children, [OSEv3:vars], ranges with letters and steps',
    files: {
      'hosts': '[OSEv3:children]\nmasters\nnodes\netcd\n\n[OSEv3:vars]\nansible_ssh_user=root\nopenshift_deployment_type=origin\nopenshift_master_identity_providers=[{"name": "htpasswd_auth", "login": "true", "kind": "HTPasswdPasswordIdentityProvider"}]\n\n[masters]\nmaster[a:c].example.com\n\n[etcd]\nmaster[a:c].example.com\n\n[nodes]\nmaster[a:c].example.com openshift_node_group_name="node-config-master"\nnode[0:8:4].example.com openshift_node_group_name=\'node-config-compute\'\n',
    },
    sources: ['hosts'],
  },
  {
    name: 'lemmy-shaped INI: [all:vars] and a host line with quoted and numeric values',
    files: {
      'inventory/hosts': '[lemmy]\nmyuser@example.com ansible_user=myuser domain=example.com letsencrypt_contact_email=a@b.c lemmy_base_dir=/srv/lemmy postgres_password="pg pass" smtp_port=587\n\n[all:vars]\nansible_connection=ssh\nansible_python_interpreter=/usr/bin/python3\n',
    },
    sources: ['inventory/hosts'],
  },
  {
    name: 'matrix-shaped YAML: one group, host_vars folder with vars.yml',
    files: {
      'inventory/hosts': 'all:\n  children:\n    matrix_servers:\n      hosts:\n        matrix.example.com:\n          ansible_host: 203.0.113.5\n          ansible_ssh_user: root\n',
      'inventory/host_vars/matrix.example.com/vars.yml': 'matrix_domain: example.com\nmatrix_homeserver_implementation: synapse\ndevture_systemd_docker_base_ipv6_enabled: true\n',
    },
    sources: ['inventory/hosts'],
  },
  {
    name: 'IPv6 hosts, with and without ports, and a host:port that is later seen without one',
    files: {
      'hosts': '[v6]\n2001:db8::11\n[2001:db8::12]:2222 role=second\nfe80::1%eth0 role=linklocal\n[edge]\nedge1:2201\nedge1 extra=1\n',
    },
    sources: ['hosts'],
  },
  {
    name: 'one host in several groups of equal depth: the later name wins; a child group beats it',
    files: {
      'hosts.yml': 'all:\n  children:\n    alpha:\n      vars: {v: alpha, a: 1}\n      hosts: {h1: {}}\n    omega:\n      vars: {v: omega}\n      hosts: {h1: {}}\n    mid:\n      vars: {v: mid, m: 1}\n      hosts: {h1: {}}\n      children:\n        deep:\n          vars: {v: deep}\n          hosts: {h2: {}}\n',
      'group_vars/alpha.yml': 'from_file: alpha\n',
      'group_vars/omega.yml': 'from_file: omega\n',
    },
    sources: ['hosts.yml'],
  },
  {
    name: 'YAML types kept, a quoted port stays a string in YAML, null and empty host entries',
    files: {
      'hosts.yml': 'all:\n  vars:\n    list: [1, two, 3.5]\n    map: {k: v, n: null}\n    yes_word: yes\n    quoted_port: "8080"\n    date_like: 2024-01-02\n    octal_like: 0755\n  hosts:\n    plain:\n    empty: {}\n',
    },
    sources: ['hosts.yml'],
  },
  {
    name: 'a directory of mixed sources with group_vars beside it and a second -i file',
    files: {
      'env/01-hosts': '[app]\napp1\napp2\n',
      'env/02-more.yaml': 'all:\n  children:\n    app:\n      hosts:\n        app3: {}\n',
      'env/group_vars/app.yml': 'port: 8000\n',
      'env/group_vars/all': 'region: eu-west-1\n',
      'extra/hosts.yml': 'all:\n  children:\n    app:\n      vars:\n        port: 9000\n',
    },
    sources: ['env', 'extra/hosts.yml'],
  },
  {
    name: 'group_vars that a child and a parent both set, across inventory and playbook folders',
    files: {
      'inv/hosts': '[parent:children]\nchild\n[child]\nc1\n',
      'inv/group_vars/parent.yml': 'v: inv-parent\nonly_parent: 1\n',
      'inv/group_vars/child.yml': 'v: inv-child\n',
      'play/group_vars/parent.yml': 'v: play-parent\n',
      'play/group_vars/all.yml': 'v: play-all\nfrom_play_all: 1\n',
    },
    sources: ['inv/hosts'],
    playDir: 'play',
  },
];

// Vars with every Secret replaced by its value.
function revealed(value: unknown): unknown {
  if (isSecret(value)) return value.reveal();
  if (Array.isArray(value)) return value.map(revealed);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, revealed(item)]));
  return value;
}

// Writes a case's files under a fresh folder; returns the folder and an empty one beside it.
function materialise(testCase: Case): { dir: string; empty: string } {
  const dir = mkdtempSync(join(tmpdir(), 'hy-oracle-'));
  for (const [path, text] of Object.entries(testCase.files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const empty = join(dir, '.empty-play-dir');
  mkdirSync(empty);
  return { dir, empty };
}

// ansible-inventory --list, run where no group_vars of the working directory can interfere.
function ansibleList(dir: string, sources: string[], playDir: string): { hosts: string[]; hostvars: Record<string, Record<string, unknown>> } {
  const args = sources.flatMap((source) => ['-i', join(dir, source)]);
  const out = execFileSync('ansible-inventory', [...args, '--playbook-dir', playDir, '--list'], { cwd: playDir, encoding: 'utf8', env: { ...process.env, ANSIBLE_NOCOLOR: '1' } });
  const parsed = JSON.parse(out) as Record<string, { hosts?: string[]; hostvars?: Record<string, Record<string, unknown>> }>;
  const hosts = new Set<string>();
  for (const [group, value] of Object.entries(parsed)) if (group !== '_meta') for (const host of value.hosts ?? []) hosts.add(host);
  return { hosts: [...hosts].sort(), hostvars: parsed._meta?.hostvars ?? {} };
}

describe('inventories against ansible-inventory', () => {
  it.each(CASES.map((testCase) => [testCase.name, testCase] as const))('%s', async (_name, testCase) => {
    const { dir, empty } = materialise(testCase);
    const playDir = testCase.playDir ? join(dir, testCase.playDir) : empty;
    const ansible = ansibleList(dir, testCase.sources, playDir);
    // Never a comparison of nothing: Ansible found hosts, and vars on at least one of them.
    expect(ansible.hosts.length).toBeGreaterThan(0);
    expect(Object.values(ansible.hostvars).some((vars) => Object.keys(vars).length > 0)).toBe(true);
    const ours = await loadInventory(testCase.sources.map((source) => join(dir, source)), { playDir });
    expect(ours.hosts.map((host) => host.name).sort()).toEqual(ansible.hosts);
    for (const host of ours.hosts) {
      // Secrets (vars named like passwords) are compared by value: Ansible prints them.
      const plain = JSON.parse(JSON.stringify(revealed(host.vars))) as unknown;
      expect(plain, host.name).toEqual(ansible.hostvars[host.name] ?? {});
    }
  });
});
