// Inventories shaped like Ansible repositories (several -i, directories, group_vars/ and host_vars/
// files and folders, a playbook's own vars, priorities, vault), read by Debian's ansible-inventory and
// by halyard: the same hosts, and for every host the same vars and the same groups.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { warmAnsibleInventory } from '../support/ansible-oracle.js';
import { afterAll, describe, expect, it } from 'vitest';
import { isSecret } from '../../src/core/secret.js';
import { loadInventory } from '../../src/inventory/index.js';
import { VaultKeyring, readPasswordSource } from '../../src/vault/keyring.js';
import { encryptVault } from '../../src/vault/vault.js';

interface Case {
  name: string;
  files: Record<string, string>;
  /** The -i values, relative to the case's folder. */
  sources: string[];
  /** The playbook's folder, relative to the case's folder (default: an empty folder). */
  playDir?: string;
  /** Symbolic links to make: link path -> target, both relative (the target to the link's folder). */
  links?: Record<string, string>;
  /** The vault password's label ("default": ANSIBLE_VAULT_PASSWORD_FILE; else a --vault-id). */
  vaultId?: string;
}

const VAULT_PASSWORD = 'oracle corpus vault password';
/** What each `!vault` value of the cases holds: ansible-inventory prints them still locked. */
const PLAINTEXT_OF_VAULT = new Map<string, string>();

// A whole file under ansible-vault (1.2 with a label other than "default").
function vaultFile(plaintext: string, vaultId?: string): string {
  return encryptVault(Buffer.from(plaintext), Buffer.from(VAULT_PASSWORD), vaultId);
}

// A `!vault |` value whose lines are indented by `indent` spaces (deeper than its key).
function vaultValue(plaintext: string, indent: number): string {
  const envelope = vaultFile(plaintext).trimEnd();
  PLAINTEXT_OF_VAULT.set(envelope, plaintext);
  return `!vault |\n${envelope.split('\n').map((line) => `${' '.repeat(indent)}${line}`).join('\n')}`;
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
  {
    name: 'inline !vault values (group_vars, host_vars, YAML inventory vars, nested) stay at their own precedence level',
    files: {
      'inventory/hosts.yml': `all:\n  children:\n    matrix_servers:\n      vars:\n        matrix_admin_password: ${vaultValue('admin-from-inventory', 10)}\n      hosts:\n        matrix.example.com:\n          ansible_host: 203.0.113.5\n          matrix_db_password: ${vaultValue('db-from-host-line', 12)}\n`,
      'inventory/group_vars/matrix_servers/vars.yml': 'matrix_domain: example.com\nmatrix_postgres_connection_password: "{{ vault_postgres_password }}"\n',
      'inventory/group_vars/matrix_servers/vault.yml': `vault_postgres_password: ${vaultValue('pg-S3cret', 2)}\nmatrix_admin_password: ${vaultValue('admin-from-group-vars', 2)}\nsmtp:\n  user: mailer\n  password: ${vaultValue('smtp pass with spaces', 4)}\n  relays: [a, b]\napi_keys:\n  - ${vaultValue('first-key', 4)}\n  - plain-key\n`,
      'inventory/host_vars/matrix.example.com/vault.yml': `matrix_synapse_macaroon_secret_key: ${vaultValue('macaroon', 2)}\nmatrix_db_password: ${vaultValue('db-from-host-vars', 2)}\n`,
    },
    sources: ['inventory/hosts.yml'],
    vaultId: 'default',
  },
  {
    name: 'whole ansible-vault vars files (1.2 with a vault id): group_vars/all/vault.yml and host_vars, sorted after main.yml',
    files: {
      'hosts/production': '[production]\nweb1.example.com\n\n[web]\nweb1.example.com\n\n[production:vars]\nenv=production\n',
      'group_vars/all/main.yml': 'mysql_root_password: "{{ vault_mysql_root_password }}"\nweb_user: web\nport: 80\n',
      'group_vars/all/vault.yml': vaultFile('vault_mysql_root_password: r00t-pw\nvault_users:\n  - {name: admin, password: adm1n}\nport: 8080\n', 'prod'),
      'group_vars/production/main.yml': 'wordpress_env: production\n',
      'group_vars/production/vault.yml': vaultFile('vault_wordpress_sites:\n  example.com:\n    env: {db_password: wp-pw, auth_key: k3y}\nwordpress_env: from-vault\n', 'prod'),
      'host_vars/web1.example.com.yml': vaultFile('host_secret: only-web1\nansible_host: 192.0.2.10\n', 'prod'),
      'group_vars/web.yml': vaultFile('without_vault_id: 1.1 envelopes open with the prod password too\nweb_ports: [80, 443]\n'),
    },
    sources: ['hosts/production'],
    playDir: '.',
    vaultId: 'prod',
  },
  {
    name: 'inventory files that are themselves under ansible-vault, INI and YAML',
    files: {
      'inventories/10-hosts': vaultFile('[db]\ndb1 ansible_host=10.1.0.1 replica=false\n[db:vars]\npg_version=15\n'),
      'inventories/20-app.yml': vaultFile('all:\n  children:\n    app:\n      hosts:\n        app1: {ansible_host: 10.1.0.2}\n      vars: {app_port: 3000}\n'),
      'inventories/group_vars/db.yml': 'backup: true\n',
    },
    sources: ['inventories'],
    vaultId: 'default',
  },
  {
    name: 'ceph-ansible-shaped INI host lines: shlex quoting, then Python literals (lists, dicts, tuples, True/None, hex, floats) or text',
    files: {
      'hosts': [
        '[mons]',
        'mon1 monitor_address=192.0.2.1 mon_group=True',
        '[osds]',
        `osd1 devices="['/dev/sdb', '/dev/sdc']" osd_auto_discovery=False dedicated_devices='["/dev/nvme0n1"]' weight=1.5 count=0x10`,
        `osd2 lvm_volumes="[{'data': 'data-lv1', 'data_vg': 'vg1', 'crush_device_class': None}]" osd_objectstore=bluestore neg=-3 big=1_000`,
        `osd3 pair="(1, 'two')" version=1.10 version_text="'1.10'" yes_word=yes true_word=true empty= url=http://x/?a=b#frag msg="hello world" path=/srv/ceph`,
        `osd4 escaped=a\\ b raw="r'\\d+'" joined='"a" "b"' unicode=café`,
        '[mgrs]',
        'mon1',
        '[ceph:children]',
        'mons',
        'osds',
        'mgrs',
      ].join('\n') + '\n',
      'group_vars/all.yml': 'ceph_origin: repository\nceph_repository: community\nmonitor_interface: eth1\n',
      'group_vars/osds.yml': 'osd_scenario: lvm\ndevices: []\n',
    },
    sources: ['hosts'],
  },
  {
    name: '[group:vars] values: the whole text after "=" is a Python literal or stays text (quotes, comments, equals signs kept as Python reads them)',
    files: {
      'hosts': [
        '[web]',
        'w1',
        '[web:vars]',
        'http_port=8080',
        'quoted="8080"',
        "single='x y'",
        'spaced = spaced value  ',
        'list=[80, 443]',
        'dict={"a": {"b": [1, None, True]}}',
        'yes_word=yes',
        'py_false=False',
        'float=2.50',
        'comment_after=5 # five',
        'hash_in_string="a # b"',
        'equals=a=b=c',
        'url=https://example.com/?q=1',
        'jinja={{ inventory_hostname }}.example.com',
        "triple='''x'''",
        'tuple=1, 2',
        'negative=-7',
        'empty=',
        'escape="tab\\there"',
        'octal=0o17',
        'binary=0b101',
        'underscores=1_000_000',
        'exponent=1e3',
        'half=.5',
        "bytes=b'raw'",
        "raw_string=r'\\d+'",
        `adjacent='a' "b"`,
        "unicode_escape='caf\\u00e9'",
        'empty_tuple=()',
        'parenthesised=(1)',
        'trailing_comma=[1,]',
        'nested=((1, 2), [3, {"k": None}])',
        "equal_keys={1: 'a', True: 'b', 1.0: 'c'}",
        "odd_keys={None: 1, 2.5: 'x', False: 0}",
        'not_literal=1 + 2',
        'name_only=none',
      ].join('\n') + '\n',
    },
    sources: ['hosts'],
  },
  {
    name: 'ansible_group_priority: an int or a digit string, never beats depth, orders group_vars files too, and is a plain var in a group_vars file',
    files: {
      'hosts.yml':
        'all:\n  children:\n    base:\n      vars: {ansible_group_priority: 10, v: base}\n      hosts: {h1: {}}\n      children:\n        deep: {vars: {v: deep}, hosts: {h1: {}}}\n    zeta: {vars: {v: zeta, w: zeta}, hosts: {h1: {}, h2: {}}}\n    alpha: {vars: {ansible_group_priority: "20", w: alpha}, hosts: {h1: {}, h2: {}}}\n    mid:\n      vars: {ansible_group_priority: 3, w: mid-first}\n      hosts: {h2: {}}\n    other:\n      children:\n        mid: {vars: {ansible_group_priority: 30, w: mid-second}}\n',
      'group_vars/zeta.yml': 'gv: zeta\nansible_group_priority: 99\n',
      'group_vars/alpha.yml': 'gv: alpha\n',
      'group_vars/mid.yml': 'gv: mid\n',
    },
    sources: ['hosts.yml'],
  },
  {
    name: 'host ranges: zero-padded with steps, letters, two ranges in one name, a range with a port, an omitted start; in INI and YAML keys',
    files: {
      'hosts': '[web]\nweb[01:10:3].example.com tier=web\n[db]\ndb-[a:c]-[1:2]:5432 role=db\n[cache]\ncache[9:11]\n[lb]\nlb[:2]\n[upper]\nnode-[X:Z]\n',
      'more.yml': 'all:\n  children:\n    rack:\n      hosts:\n        "rack[1:2]-srv[08:10:2]":\n          rack_member: true\n        "edge[a:b]:2200":\n          edge: yes\n',
    },
    sources: ['hosts', 'more.yml'],
  },
  {
    name: 'debops-shaped [group:children] chains: a diamond where the longest path sets the depth, children declared before their sections',
    files: {
      'ansible/inventory/hosts': [
        '[debops_all_hosts:children]',
        'debops_service_postgresql',
        'cluster',
        '[cluster:children]',
        'control',
        'workers',
        '[workers:children]',
        'gpu',
        '[infra:children]',
        'gpu',
        '[gpu]',
        'g1',
        '[control]',
        'c1',
        'g1',
        '[debops_service_postgresql]',
        'c1',
        '[debops_all_hosts:vars]',
        'v=debops_all_hosts',
        '[cluster:vars]',
        'v=cluster',
        '[workers:vars]',
        'v=workers',
        '[infra:vars]',
        'v=infra',
        'infra_only=1',
        '[control:vars]',
        'v=control',
        'w=control',
        '[debops_service_postgresql:vars]',
        'w=postgresql',
      ].join('\n') + '\n',
      'ansible/inventory/group_vars/debops_all_hosts/core.yml': 'core__tags: [debops]\nfrom_file: all_hosts\n',
      'ansible/inventory/group_vars/workers/main.yml': 'from_file: workers\n',
      'ansible/inventory/group_vars/infra.yml': 'from_file: infra\n',
      'ansible/inventory/host_vars/g1/ferm.yml': 'ferm__enabled: false\n',
    },
    sources: ['ansible/inventory/hosts'],
  },
  {
    name: 'one host in INI, JSON and YAML sources: vars add up, the later source wins, a port given after the host exists is ignored',
    files: {
      'a/hosts': '[web]\nw1:2201 src=ini a_only=1\nw2\nw3\n',
      'b/hosts.json': '{"web": {"hosts": {"w1": {"src": "json", "b_only": [1, 2]}, "w2": {"ansible_port": 2302}}}, "db": {"hosts": {"w1": null}}}\n',
      'c/more.yml': 'all:\n  hosts:\n    w2:2299:\n      src: yaml\n    w3:2203: {}\n  children:\n    db:\n      hosts:\n        w4:2204:\n',
      'b/group_vars/db.json': '{"db_from": "b"}\n',
      'c/group_vars/db.yml': 'db_from: c\n',
    },
    sources: ['a/hosts', 'b/hosts.json', 'c/more.yml'],
  },
  {
    name: 'YAML anchors, aliases and merge keys (<<: one map, a list of maps, explicit keys win) in the inventory and in group_vars',
    files: {
      'hosts.yml':
        'all:\n  vars:\n    defaults: &defaults\n      user: deploy\n      port: 22\n      opts: &opts [a, b]\n  children:\n    web:\n      hosts:\n        w1: &w1\n          <<: *defaults\n          port: 2222\n          ansible_host: 10.0.0.1\n        w2:\n          <<: [*defaults, {user: other, extra: 1}]\n        w3: *w1\n        w4:\n          port: 1\n          <<: *defaults\n      vars:\n        listed: *opts\n        nested: {<<: *defaults, user: nested}\n',
      'group_vars/web.yml': 'base: &base {tier: web, replicas: 2}\nweb_config:\n  <<: *base\n  replicas: 3\ncopies: [*base, *base]\n',
    },
    sources: ['hosts.yml'],
  },
  {
    name: 'JSON files: a .json inventory, host_vars/<host>.json, a group_vars folder of .json and .yml; group_vars under a subfolder of a directory source are not read',
    files: {
      'inv/inventory.json': '{"all": {"children": {"api": {"hosts": {"api1": {"weights": [1.5, 2], "exp": 1e3}, "api2": {}}}}, "vars": {"region": "eu"}}}\n',
      'inv/host_vars/api1.json': '{"nested": {"a": null, "b": true}, "unicode": "caf\\u00e9", "slash": "a\\/b", "small": 1E-2}\n',
      'inv/group_vars/api/10-base.json': '{"api_port": 9000, "features": {"x": false}}\n',
      'inv/group_vars/api/20-over.yml': 'api_port: 9001\n',
      'inv/sub/more.json': '{"api": {"hosts": {"api3": {"sub": 1}}}}\n',
      'inv/sub/group_vars/api.yml': 'never: read\n',
    },
    sources: ['inv'],
  },
  {
    name: 'empty groups: INI sections and YAML groups with no hosts, a group with only vars, group_vars of an empty group',
    files: {
      'hosts': '[empty]\n[web]\nw1\n[spare:children]\nempty\n[spare:vars]\nspare_var=1\n[web:children]\n',
      'more.yml': 'all:\n  children:\n    nobody:\n    vars_only:\n      vars: {x: 1}\n    no_hosts:\n      hosts:\n    web:\n      hosts: {w2: }\n      children: {}\n',
      'group_vars/empty.yml': 'never_applied: true\n',
      'group_vars/web.yml': 'web_var: 1\n',
    },
    sources: ['hosts', 'more.yml'],
  },
  {
    name: 'kubespray inventory.ini: hosts defined in [all], groups naming them; a host only in [all] or [ungrouped] is ungrouped, one also in a group is not',
    files: {
      'inventory/mycluster/inventory.ini': [
        '[all]',
        'node1 ansible_host=95.54.0.12 ip=10.3.0.1 etcd_member_name=etcd1',
        'node2 ansible_host=95.54.0.13 ip=10.3.0.2 etcd_member_name=etcd2',
        'node3 ansible_host=95.54.0.14 ip=10.3.0.3',
        'bastion ansible_host=95.54.0.99',
        '[ungrouped]',
        'node3',
        'standby',
        '[kube_control_plane]',
        'node1',
        '[etcd]',
        'node1',
        'node2',
        '[kube_node]',
        'node2',
        'node3',
        '[calico_rr]',
        '[k8s_cluster:children]',
        'kube_control_plane',
        'kube_node',
        'calico_rr',
        '[ungrouped:vars]',
        'ungrouped_var=1',
        '[all:vars]',
        'ansible_user=ubuntu',
      ].join('\n') + '\n',
      'inventory/mycluster/group_vars/k8s_cluster/k8s-cluster.yml': 'kube_version: v1.30.4\n',
      'inventory/mycluster/group_vars/ungrouped.yml': 'ungrouped_file_var: 1\n',
    },
    sources: ['inventory/mycluster/inventory.ini'],
  },
  {
    name: 'a group and a host of the same name: group_vars/NAME and host_vars/NAME both apply; vars given before the group exists stay the host\'s',
    files: {
      'hosts': 'db early=1\n[web]\nweb\nw2\n[db]\ndb\nd2\n',
      'more.yml': 'all:\n  children:\n    cache:\n      hosts:\n        cache: {}\n        c2: {}\n      vars: {cache_size: 64}\n',
      'group_vars/web.yml': 'from: group_vars/web\ngroup_only: 1\n',
      'host_vars/web.yml': 'from: host_vars/web\n',
      'group_vars/cache.yml': 'from: group_vars/cache\n',
      'host_vars/cache.yml': 'from: host_vars/cache\n',
      'host_vars/db.yml': 'ansible_port: 5433\n',
    },
    sources: ['hosts', 'more.yml'],
  },
  {
    name: 'k3s-ansible-shaped YAML: dotted-quad and bracketed IPv6 host keys, Jinja kept as text, PyYAML 1.1 scalars (on/off, hex, sexagesimal, binary, !!str)',
    files: {
      'inventory.yml': [
        'k3s_cluster:',
        '  children:',
        '    server:',
        '      hosts:',
        '        192.16.35.11:',
        '    agent:',
        '      hosts:',
        '        192.16.35.12:',
        '        "[2001:db8::13]:2222":',
        '          ipv6: true',
        '  vars:',
        '    ansible_port: 22',
        '    ansible_user: debian',
        '    k3s_version: v1.30.2+k3s1',
        '    token: "changeme!"',
        "    api_endpoint: \"{{ hostvars[groups['server'][0]]['ansible_host'] | default(groups['server'][0]) }}\"",
        '    extra_server_args: ""',
        '    flags: {a: on, b: Off, c: y, d: n, e: ~, f: 0x1F, g: 1:20, h: 0b101, i: 1_000, j: +12, k: !!str 123, m: 1.5e+3, n: NULL, p: 0o17, q: 017, r: 2001:db8::1}',
      ].join('\n') + '\n',
    },
    sources: ['inventory.yml'],
  },
  {
    name: "host:port splits only where Ansible's parse_address sees an address or a host name (user@host:2222 keeps its colon); IPv4 and bracketed IPv6 ranges with ports",
    files: {
      'inventory/hosts': [
        '[lemmy]',
        'myuser@example.com:2222 domain=example.com',
        'web_:2200',
        'lb[:1]:22',
        '[bracketed]',
        '[web1]:2201',
        'café.example:2202',
        'fqdn.example.com.:2205',
        '[v4]',
        '10.0.[0:1].[1:2]',
        '192.168.1.[8:10]:2222 rack=r1',
        '[v6]',
        '2001:db8::[a:c]',
        '[2001:db8::[1:2]]:2200 v6_port=yes',
      ].join('\n') + '\n',
    },
    sources: ['inventory/hosts'],
  },
  {
    name: 'symlinked group_vars and host_vars folders shared between environments, a symlinked vars file and a symlinked inventory',
    files: {
      'shared/group_vars/all/main.yml': 'company: example\nenv: unset\n',
      'shared/group_vars/web.yml': 'nginx_workers: 4\n',
      'shared/host_vars/w1.yml': 'from_shared_host_vars: 1\n',
      'shared/hosts-staging': '[web]\nw1\nw2\n',
      'inventories/production/hosts': '[web]\nw1\nw3\n[production:children]\nweb\n',
      'inventories/production/env.yml': 'env: production\n',
      'inventories/staging/group_vars/all/env.yml': 'env: staging\n',
    },
    links: {
      'inventories/production/group_vars': '../../shared/group_vars',
      'inventories/production/host_vars': '../../shared/host_vars',
      'inventories/staging/group_vars/all/main.yml': '../../../../shared/group_vars/all/main.yml',
      'inventories/staging/hosts': '../../shared/hosts-staging',
    },
    sources: ['inventories/production/hosts', 'inventories/staging/hosts'],
  },
  {
    name: 'which vars file is read: NAME before NAME.yml before NAME.yaml before NAME.json; empty, comment-only and ---/... files; ~ backups and dotted subfolders skipped',
    files: {
      'hosts': '[web]\nw1\n[db]\nd1\n[cache]\nc1\n[mq]\nm1\n',
      'group_vars/web': 'picked: web-no-extension\n',
      'group_vars/web.yml': 'picked: web.yml\nnever: 1\n',
      'group_vars/db.yml': '---\npicked: db.yml\n...\n',
      'group_vars/db.yaml': 'picked: db.yaml\n',
      'group_vars/db.json': '{"picked": "db.json"}\n',
      'group_vars/cache.yaml': 'picked: cache.yaml\n',
      'group_vars/cache.json': '{"picked": "cache.json"}\n',
      'group_vars/mq/00-empty.yml': '',
      'group_vars/mq/10-comments.yml': '# nothing but a comment\n',
      'group_vars/mq/20-main.yml': 'picked: mq/20-main.yml\nlevel: 20\n',
      'group_vars/mq/30-main.yml~': 'picked: backup\n',
      'group_vars/mq/conf.d/40.yml': 'picked: conf.d\n',
      'group_vars/mq/nested/50.yml': 'level: 50\n',
      'group_vars/mq/60.j2': 'picked: template\n',
      'host_vars/not-in-inventory.yml': 'ignored: true\n',
      'host_vars/m1': 'host_no_extension: true\n',
    },
    sources: ['hosts'],
  },
  {
    name: 'INI details: CRLF line ends, [group:vars] before the group, a host repeated across sections merges its vars, comments after headers and children',
    files: {
      'hosts': [
        '; semicolon comment',
        '[app:vars]',
        'app_port=8080',
        '[app]  # trailing comment',
        'a1 x=1 y=1',
        'a2',
        '[extra]',
        'a1 x=2 z=3   # comment after vars',
        '  indented_host   k=v',
        '[stack:children]  # parents',
        'app   # the app servers',
        'extra',
        '[stack:vars]',
        'x=stack',
        'path=C:\\Temp',
      ].join('\r\n') + '\r\n',
    },
    sources: ['hosts'],
  },
  {
    name: 'YAML details: one group written in several places merges hosts and vars, an explicit ungrouped group, hosts under all and in a group',
    files: {
      'hosts.yml': [
        'all:',
        '  hosts:',
        '    shared1: {under_all: 1}',
        '    lonely: {under_all: 1}',
        '  children:',
        '    frontend:',
        '      children:',
        '        common:',
        '          vars: {from_frontend: 1, v: frontend-block}',
        '          hosts: {shared1: {}}',
        '    backend:',
        '      children:',
        '        common:',
        '          vars: {from_backend: 1, v: backend-block}',
        '          hosts: {b1: {}}',
        '    ungrouped:',
        '      hosts:',
        '        solo: {}',
        '        shared1: {}',
        '      vars: {ungrouped_var: 1}',
        'common:',
        '  vars: {top_level: 1}',
      ].join('\n') + '\n',
    },
    sources: ['hosts.yml'],
  },
];

// Vars with every Secret replaced by its value.
function revealed(value: unknown): unknown {
  if (isSecret(value)) return value.reveal();
  if (Array.isArray(value)) return value.map(revealed);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, revealed(item)]));
  return value;
}

// Ansible's vars with every still-locked `!vault` value ({"__ansible_vault": envelope}) replaced by
// the plaintext the case locked in it.
function unlocked(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unlocked);
  if (value === null || typeof value !== 'object') return value;
  const locked = (value as { __ansible_vault?: unknown }).__ansible_vault;
  if (typeof locked === 'string' && Object.keys(value).length === 1) return PLAINTEXT_OF_VAULT.get(locked.trimEnd()) ?? value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, unlocked(item)]));
}

const caseDirs: string[] = [];
afterAll(() => {
  for (const dir of caseDirs) rmSync(dir, { recursive: true, force: true });
});

// Writes a case's files under a fresh folder; returns the folder and an empty one beside it.
function materialise(testCase: Case): { dir: string; empty: string } {
  const dir = mkdtempSync(join(tmpdir(), 'hy-oracle-'));
  caseDirs.push(dir);
  for (const [path, text] of Object.entries(testCase.files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  for (const [path, target] of Object.entries(testCase.links ?? {})) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    symlinkSync(target, join(dir, path));
  }
  const empty = join(dir, '.empty-play-dir');
  mkdirSync(empty);
  return { dir, empty };
}


// ansible-inventory --list, run where no group_vars of the working directory can interfere: its
// hosts, their vars, and the groups each host is in.
async function ansibleList(
  dir: string,
  sources: string[],
  playDir: string,
  vaultArgs: string[],
): Promise<{ hosts: string[]; hostvars: Record<string, Record<string, unknown>>; groupsOf: Map<string, string[]> }> {
  const args = sources.flatMap((source) => ['-i', join(dir, source)]);
  const stdout = await warmAnsibleInventory([...args, ...vaultArgs, '--playbook-dir', playDir, '--list'], playDir);
  const parsed = JSON.parse(stdout) as Record<string, { hosts?: string[]; children?: string[]; hostvars?: Record<string, Record<string, unknown>> }>;
  const direct = new Map<string, Set<string>>();
  const parents = new Map<string, string[]>();
  for (const [group, value] of Object.entries(parsed)) {
    if (group === '_meta') continue;
    for (const host of value.hosts ?? []) direct.set(host, (direct.get(host) ?? new Set()).add(group));
    for (const child of value.children ?? []) parents.set(child, [...(parents.get(child) ?? []), group]);
  }
  // Each host's groups: those listing it, their ancestors, and all.
  const groupsOf = new Map<string, string[]>();
  for (const [host, groups] of direct) {
    const member = new Set<string>();
    const climb = (group: string): void => {
      if (member.has(group)) return;
      member.add(group);
      for (const parent of parents.get(group) ?? []) climb(parent);
    };
    for (const group of groups) climb(group);
    groupsOf.set(host, [...member.add('all')].sort());
  }
  return { hosts: [...direct.keys()].sort(), hostvars: parsed._meta?.hostvars ?? {}, groupsOf };
}

// The case's vault password for both sides: Ansible's flags, a keyring for halyard.
function vaultFor(testCase: Case, dir: string): { args: string[]; keyring?: VaultKeyring } {
  if (testCase.vaultId === undefined) return { args: [] };
  const file = join(dir, '.vault-pass');
  writeFileSync(file, `${VAULT_PASSWORD}\n`);
  const args = testCase.vaultId === 'default' ? ['--vault-password-file', file] : ['--vault-id', `${testCase.vaultId}@${file}`];
  return { args, keyring: new VaultKeyring([readPasswordSource(file, testCase.vaultId)]) };
}

describe('inventories against ansible-inventory', () => {
  it.each(CASES.map((testCase) => [testCase.name, testCase] as const))('%s', async (_name, testCase) => {
    const { dir, empty } = materialise(testCase);
    const playDir = testCase.playDir ? join(dir, testCase.playDir) : empty;
    const vault = vaultFor(testCase, dir);
    const ansible = await ansibleList(dir, testCase.sources, playDir, vault.args);
    // Never a comparison of nothing: Ansible found hosts, and vars on at least one of them.
    expect(ansible.hosts.length).toBeGreaterThan(0);
    expect(Object.values(ansible.hostvars).some((vars) => Object.keys(vars).length > 0)).toBe(true);
    const ours = await loadInventory(
      testCase.sources.map((source) => join(dir, source)),
      { playDir, ...(vault.keyring ? { vault: vault.keyring } : {}) },
    );
    expect(ours.hosts.map((host) => host.name).sort()).toEqual(ansible.hosts);
    for (const host of ours.hosts) {
      // Secrets (vars named like passwords, vault values) are compared by value: Ansible prints them.
      const plain = JSON.parse(JSON.stringify(revealed(host.vars))) as unknown;
      expect(plain, host.name).toEqual(unlocked(ansible.hostvars[host.name] ?? {}));
      expect([...host.groups].sort(), `groups of ${host.name}`).toEqual(ansible.groupsOf.get(host.name));
    }
  });
});
