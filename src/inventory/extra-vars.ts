import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { isMap, isScalar } from 'yaml';
import { InventoryError, UsageError } from '../core/errors.js';
import { describeType } from './connection-vars.js';
import { setOwn } from './own-property.js';
import { splitWords } from './split-words.js';
import { mergeVarLayers } from './vars.js';
import { assertUniqueKeys, parseYamlSource } from './yaml-source.js';
import { decodeUtf8, describeInvalidUtf8 } from '../core/utf8.js';
import { VaultKeyring, isVaultText } from '../vault/keyring.js';
import { secretVaultedVars } from './vars-files.js';

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const EXTRA_VARS_YAML_CODES = { syntax: 'E_EXTRA_VARS_SYNTAX', tag: 'E_EXTRA_VARS_TAG' };

// Reads every `-e` value in command-line order into one vars map (a later -e replaces keys).
//   -e key=value [key2=value2 ...]   values stay strings, as Ansible keeps them
//   -e '{"json": 1}' / -e '{yaml: 1}' a JSON or YAML mapping, types kept
//   -e @vars.yml                      a YAML (or JSON) file holding a mapping; `!secret` works
//   -e @vault.yml                     a file under ansible-vault: opened with the run's passwords, its strings secret
export function parseExtraVars(values: readonly string[], options: { cwd?: string; vault?: VaultKeyring } = {}): Record<string, unknown> {
  const vault = options.vault ?? new VaultKeyring([]);
  return mergeVarLayers(values.map((value) => parseOneExtraVars(value, options.cwd ?? process.cwd(), vault)));
}

function parseOneExtraVars(value: string, cwd: string, vault: VaultKeyring): Record<string, unknown> {
  const text = value.trim();
  if (text === '') throw new UsageError('-e needs key=value, a JSON/YAML mapping or @file');
  if (text.startsWith('@')) return readExtraVarsFile(text.slice(1), cwd, vault);
  if (text.startsWith('{') || text.startsWith('[')) return parseInlineMapping(text);
  return parseKeyValues(text);
}

function readExtraVarsFile(name: string, cwd: string, vault: VaultKeyring): Record<string, unknown> {
  if (name === '') throw new UsageError('-e @ needs a file name, as in -e @vars.yml');
  let bytes: Buffer;
  try {
    bytes = readFileSync(resolve(cwd, name));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new InventoryError('E_EXTRA_VARS_READ', `cannot read extra vars file (${reason})`, { file: name, cause: error });
  }
  let decoded = decodeUtf8(bytes);
  if (!decoded.ok) throw new InventoryError('E_EXTRA_VARS_ENCODING', describeInvalidUtf8(decoded), { file: name, line: decoded.line });
  const vaulted = isVaultText(decoded.text);
  if (vaulted) {
    decoded = decodeUtf8(vault.open(decoded.text, name));
    if (!decoded.ok) throw new InventoryError('E_EXTRA_VARS_ENCODING', `(decrypted) ${describeInvalidUtf8(decoded)}`, { file: name, line: decoded.line });
  }
  const text = decoded.text;
  const source = parseYamlSource(text, name, EXTRA_VARS_YAML_CODES);
  const contents = source.doc.contents;
  if (contents === null || (isScalar(contents) && contents.value === null)) return {};
  if (!isMap(contents)) {
    throw new InventoryError('E_EXTRA_VARS_TYPE', `extra vars file must hold a mapping of var names, got ${describeType(contents.toJSON())}`, {
      file: name,
      line: source.lineOf(contents),
    });
  }
  assertUniqueKeys(contents, source, 'E_EXTRA_VARS_DUPLICATE_KEY');
  const values = vault.openValues(contents.toJS(source.doc, { maxAliasCount: 1000 }) as Record<string, unknown>, name);
  return vaulted ? secretVaultedVars(values) : values;
}

function parseInlineMapping(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    const source = parseYamlSource(text, '-e', EXTRA_VARS_YAML_CODES);
    parsed = source.doc.toJS({ maxAliasCount: 1000 });
  } catch (error) {
    throw new UsageError(`-e: not valid JSON/YAML: ${(error as Error).message.replace(/^-e(:\d+)?: /, '')}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`-e: expected a JSON/YAML mapping like '{"name": "value"}', got ${describeType(parsed)}`);
  }
  return parsed as Record<string, unknown>;
}

function parseKeyValues(text: string): Record<string, unknown> {
  let words;
  try {
    words = splitWords(text);
  } catch (error) {
    throw new UsageError(`-e: ${(error as Error).message} in ${JSON.stringify(text)}`);
  }
  const vars: Record<string, unknown> = {};
  for (const word of words) {
    const equals = word.text.indexOf('=');
    if (equals < 0) throw new UsageError(`-e: expected key=value, got ${JSON.stringify(word.text)}`);
    const name = word.text.slice(0, equals);
    if (!VAR_NAME.test(name)) throw new UsageError(`-e: ${JSON.stringify(name)} is not a valid var name`);
    setOwn(vars, name, word.text.slice(equals + 1));
  }
  return vars;
}
