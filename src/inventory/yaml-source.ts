import {
  Document,
  LineCounter,
  isScalar,
  parseDocument,
  visit,
  type Node,
  type ScalarTag,
  type Tags,
  type YAMLError,
} from 'yaml';
import { InventoryError } from '../core/errors.js';
import { Secret, SECRET_MASK, isSecret } from '../core/secret.js';
import { SecretRef, isSecretRef } from '../core/secret-ref.js';
import { TAGGED_SECRET_LABEL } from './secrets.js';
import { VaultedValue } from '../vault/keyring.js';

// `!secret` marks one value as a Secret whatever its var is called.
export const secretTag: ScalarTag = {
  tag: '!secret',
  identify: (value) => isSecret(value),
  resolve: (text) => new Secret(text, TAGGED_SECRET_LABEL),
  stringify: () => SECRET_MASK,
};

// `!vault |` holds one ansible-vault value; it is opened with the run's passwords when the vars
// block holding it is read (RawInventory.varsBlock), and becomes a Secret.
export const vaultTag: ScalarTag = {
  tag: '!vault',
  identify: (value) => value instanceof VaultedValue,
  resolve: (text) => new VaultedValue(text),
  stringify: () => SECRET_MASK,
};

// `!aws_secret name#key` refers to a secret in AWS Secrets Manager, fetched on the controller per run.
export const awsSecretTag: ScalarTag = {
  tag: '!aws_secret',
  identify: (value) => isSecretRef(value),
  resolve: (text) => SecretRef.parse(text),
  stringify: (item) => String(item.value),
};

const YAML_BOOL = 'tag:yaml.org,2002:bool';
const YAML_INT = 'tag:yaml.org,2002:int';
const YAML_FLOAT = 'tag:yaml.org,2002:float';
// PyYAML's implicit resolvers (resolver.py) for numbers: stricter than yaml's 1.1 schema, which
// reads `1e3`, `09` and `0:30` as numbers where Ansible keeps the text.
const PYYAML_INT = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const PYYAML_FLOAT = /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const YAML_TIMESTAMP = 'tag:yaml.org,2002:timestamp';
// PyYAML's booleans (what Ansible reads); yaml's own 1.1 schema also takes y/n, which PyYAML does not.
const PYYAML_TRUE = /^(?:yes|Yes|YES|true|True|TRUE|on|On|ON)$/;
const PYYAML_FALSE = /^(?:no|No|NO|false|False|FALSE|off|Off|OFF)$/;

// YAML 1.1 as PyYAML reads it, so a file Ansible accepts means the same here; dates stay strings.
function ansibleCompatibleTags(tags: Tags): Tags {
  const adjusted: Tags = [];
  for (const tag of tags) {
    if (typeof tag === 'string') {
      adjusted.push(tag);
      continue;
    }
    if (tag.tag === YAML_TIMESTAMP) continue;
    if (tag.tag === YAML_BOOL && 'test' in tag && tag.test) {
      const isTrue = tag.test.test('true');
      adjusted.push({ ...tag, test: isTrue ? PYYAML_TRUE : PYYAML_FALSE } as ScalarTag);
      continue;
    }
    if ((tag.tag === YAML_INT || tag.tag === YAML_FLOAT) && 'test' in tag && tag.test) {
      // Each of yaml's number forms, where PyYAML also reads a number: its resolve stays.
      const pyyaml = tag.tag === YAML_INT ? PYYAML_INT : PYYAML_FLOAT;
      adjusted.push({ ...tag, test: new RegExp(`(?=${pyyaml.source})${tag.test.source}`) } as ScalarTag);
      continue;
    }
    adjusted.push(tag);
  }
  adjusted.push(secretTag, awsSecretTag, vaultTag);
  return adjusted;
}

// A parsed YAML file that still knows where each node was written.
export interface YamlSource {
  file: string;
  doc: Document.Parsed;
  /** 1-based line of a node (or of the start of a pair's key), undefined when unknown. */
  lineOf(node: Node | null | undefined): number | undefined;
}

// Error codes used when a YAML file is broken; inventories and extra-vars files differ.
export interface YamlErrorCodes {
  syntax: string;
  tag: string;
}

// The schema every halyard YAML file is read with.
const SCHEMA_OPTIONS = {
  uniqueKeys: false, // duplicates are reported by the readers, which know whether a key is a host
  version: '1.1',
  customTags: ansibleCompatibleTags,
  merge: true,
} as const;

// What a plain (untagged, unquoted) scalar means in halyard's schema, as the yaml library's
// composer decides it (the first default tag whose test matches, else a string); undefined when
// the library would warn about the text. For readers that scan plain YAML themselves.
export function plainScalarResolver(): (text: string, atKey: boolean) => { value: unknown } | undefined {
  const doc = new Document(null, SCHEMA_OPTIONS);
  const tags = doc.schema.tags.filter((tag): tag is ScalarTag => !('collection' in tag && tag.collection) && tag.test !== undefined);
  return (text, atKey) => {
    const tag = tags.find((candidate) => (candidate.default === true || (atKey && candidate.default === 'key')) && candidate.test!.test(text));
    if (!tag) return { value: text };
    let warned = false;
    try {
      const value = tag.resolve(text, () => (warned = true), doc.options);
      if (warned) return undefined;
      // Some tags (1.1 booleans, floats) resolve to a Scalar node; the composer keeps its value.
      return { value: isScalar(value) ? value.value : value };
    } catch {
      return undefined;
    }
  };
}

const INVENTORY_CODES: YamlErrorCodes = { syntax: 'E_INVENTORY_SYNTAX', tag: 'E_INVENTORY_TAG' };

// Parses YAML text for halyard (PyYAML-compatible 1.1, `!secret`, merge keys) or throws one-line errors.
// Text that is JSON is read as JSON (Ansible's DataLoader tries json.loads before YAML, so `1e3`
// in a .json file, or a .yml file holding JSON, is the number 1000).
export function parseYamlSource(text: string, file: string, codes: YamlErrorCodes = INVENTORY_CODES): YamlSource {
  const lineCounter = new LineCounter();
  const schema = isJson(text) ? { uniqueKeys: false, version: '1.2', schema: 'json' } as const : SCHEMA_OPTIONS;
  const doc = parseDocument(text, { ...schema, lineCounter, keepSourceTokens: true, prettyErrors: true });
  const firstError = doc.errors[0];
  if (firstError) {
    throw new InventoryError(codes.syntax, `YAML syntax error: ${firstSentence(firstError)}`, {
      file,
      line: firstError.linePos?.[0].line,
    });
  }
  const unresolvedTag = doc.warnings.find((warning) => warning.code === 'TAG_RESOLVE_FAILED');
  if (unresolvedTag) {
    throw new InventoryError(codes.tag, describeUnresolvedTag(unresolvedTag), {
      file,
      line: unresolvedTag.linePos?.[0].line,
    });
  }
  return {
    file,
    doc,
    lineOf(node) {
      const offset = node?.range?.[0];
      return offset === undefined ? undefined : lineCounter.linePos(offset).line;
    },
  };
}

// yaml's messages carry "at line N, column M:" and a source excerpt; keep the first sentence only.
function firstSentence(error: YAMLError): string {
  const firstLine = error.message.split('\n')[0] ?? error.message;
  return firstLine.replace(/ at line \d+, column \d+:?$/, '').trim();
}

function describeUnresolvedTag(warning: YAMLError): string {
  const tag = /Unresolved tag: (\S+)/.exec(warning.message)?.[1] ?? 'tag';
  if (tag === '!secret') return '!secret must tag a single value (a string), not a mapping or a list';
  if (tag === '!aws_secret') return '!aws_secret must tag a single "name" or "name#json_key" string';
  return `unsupported YAML tag ${JSON.stringify(tag)} (halyard knows !secret, !aws_secret and !vault)`;
}

// Rejects a key written twice in any mapping inside `node` (the readers parse with uniqueKeys off
// so they can name host duplicates themselves; nested var values are checked here).
export function assertUniqueKeys(node: Node, source: YamlSource, code: string): void {
  visit(node, {
    Map(_, map) {
      const seen = new Map<string, number | undefined>();
      for (const pair of map.items) {
        const key = pair.key;
        if (!isScalar(key) || key.value === '<<') continue;
        const name = String(key.value);
        const line = source.lineOf(key);
        if (seen.has(name)) {
          const first = seen.get(name);
          throw new InventoryError(
            code,
            `key ${JSON.stringify(name)} is written twice in the same mapping${first ? ` (first at line ${first})` : ''}`,
            { file: source.file, line },
          );
        }
        seen.set(name, line);
      }
    },
  });
}

// Whether a file's text is a JSON document (tried only for text that starts like one).
function isJson(text: string): boolean {
  const first = text.trimStart()[0];
  if (first !== '{' && first !== '[') return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
