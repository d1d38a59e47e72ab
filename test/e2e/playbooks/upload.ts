import { definePlaybook, directory, upload } from 'halyard';

// Files copied from the controller; used by test/e2e/upload.e2e.test.ts. Vars (-e or host vars):
// upload_dir (on the host, default /opt/hy-upload), big_src and script_src (local paths), big_target
// (where big_src goes, default <upload_dir>/big.bin),
// script_validate: "sh-n" (default: `sh -n %s`) or "bin-false" (`/bin/false %s`, always refuses).
export default definePlaybook({
  name: 'uploads',
  hosts: 'all',
  tasks: (host) => {
    const dir = String(host.vars.upload_dir ?? '/opt/hy-upload');
    const validate = host.vars.script_validate === 'bin-false' ? ['/bin/false', '%s'] : ['sh', '-n', '%s'];
    return [
      directory({ path: dir, owner: 'root', group: 'root', mode: '0755' }),
      upload({ src: String(host.vars.big_src), path: String(host.vars.big_target ?? `${dir}/big.bin`), owner: 'root', group: 'root', mode: '0644' }),
      upload({ src: String(host.vars.script_src), path: `${dir}/hello.sh`, owner: 'root', group: 'root', mode: '0755', validate }),
    ];
  },
});
