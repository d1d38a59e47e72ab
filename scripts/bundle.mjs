// `npm run build`'s last step: tsc's output in dist/ is bundled (esbuild) so a command loads a few
// files instead of hundreds. Resolving, reading and compiling one module per file cost a 1-host
// no-op about 85 ms of its 0.82 s and `backup run` about 150 ms (measured Dec 6, best of 10 and 6).
// Every public entry (package.json's exports) and the CLI are entry points of one build with code
// splitting, so a playbook importing `halyard` and the CLI running it share one copy of every
// module (classes such as Secret compare by identity). Entries keep their paths in dist/; shared
// code goes to dist/b/. dist/b/meta.json maps each output file to the modules in it, for the
// start-up test that checks which modules a command loads.
import { build } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const publicEntries = Object.values(manifest.exports)
  .map((target) => (typeof target === 'string' ? target : target.default))
  .filter((file) => typeof file === 'string' && file.startsWith('./dist/') && file.endsWith('.js'));
// The standby's client and process (src/standby/) are entries too: the client loads before the
// CLI, and the standby loads the CLI's own chunks.
const entryPoints = ['./dist/cli/main.js', './dist/standby/client.js', './dist/standby/serve.js', ...publicEntries].map((file) => join(root, file));

// The compiled roles import the public API as 'halyard' and 'halyard/...': each name means the
// export's file in dist/ (tsconfig.json's paths point type-checking at src/, not the bundler).
const exportFiles = new Map(
  Object.entries(manifest.exports).flatMap(([subpath, target]) => {
    const file = typeof target === 'string' ? target : target.default;
    return typeof file === 'string' && file.endsWith('.js') ? [[subpath === '.' ? 'halyard' : `halyard/${subpath.slice(2)}`, join(root, file)]] : [];
  }),
);
const halyardExports = {
  name: 'halyard-exports',
  setup(bundler) {
    bundler.onResolve({ filter: /^halyard(\/.*)?$/ }, (args) => {
      const file = exportFiles.get(args.path);
      return file ? { path: file } : { errors: [{ text: `${args.path} is not an export of halyard (package.json)` }] };
    });
  },
};

// zod's classic API re-exports every locale's messages as `z.locales`, which keeps all 64 of them
// (512 KB of source, most of zod's chunk) in every command that reads a schema; zod speaks English
// unless told otherwise, and halyard never tells it, so its bundled copy keeps English alone.
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(bundler) {
    bundler.onLoad({ filter: /[\\/]node_modules[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: "export { default as en } from './en.js';\n",
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

rmSync(join(root, 'dist/b'), { recursive: true, force: true });
const result = await build({
  entryPoints,
  outdir: join(root, 'dist'),
  outbase: join(root, 'dist'),
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  // A package's ES build ("module") before its CommonJS one ("main"), so the AWS SDK is tree-shaken
  // to the commands halyard sends (a CommonJS index keeps every command of a client). Loading the S3
  // client's chunk: 156 against 200 ms and 155 against 196 CPU-ms (medians of 10, alternating); the
  // EC2 client's: 273-502 against 638-838 ms, 245-399 against 543-696 CPU-ms, 74 against 122 MiB RSS
  // (6 each; Dec 7). dist/b went from 6.8 to 4.7 MB. Outside the SDK only emoji-regex changes (its
  // .mjs, the same regex); packages with an "exports" map were already resolved by their conditions.
  mainFields: ['module', 'main'],
  target: 'node20',
  chunkNames: 'b/[name]-[hash]',
  // Native addons and packages that load their own files at run time stay in node_modules.
  external: ['ssh2', 'cpu-features', 'esbuild', 'typescript', 'tar', 's3rver'],
  // Error classes and roles are reported by name.
  keepNames: true,
  // CommonJS packages inside an ES module still need `require` for Node's own modules.
  banner: { js: "import { createRequire as __halyardCreateRequire } from 'node:module'; const require = __halyardCreateRequire(import.meta.url);" },
  metafile: true,
  logLevel: 'warning',
  plugins: [halyardExports, zodEnglishOnly],
  // Type-checking's paths (tsconfig.json) map 'halyard' to src/; the bundle is made of dist/ alone.
  tsconfigRaw: {},
});
const files = Object.fromEntries(
  Object.entries(result.metafile.outputs).map(([output, info]) => [output.replace(/^.*?dist\//, ''), Object.keys(info.inputs).map((input) => input.replace(/^.*?node_modules\//, 'node_modules/').replace(/^(\.\.\/)*/, ''))]),
);
writeFileSync(join(root, 'dist/b/meta.json'), `${JSON.stringify(files, null, 1)}\n`);
