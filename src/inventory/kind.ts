import { extname } from 'node:path';
import { isMap, isScalar, type Pair, type Node } from 'yaml';
import { InventoryError } from '../core/errors.js';
import { parseYamlSource, type YamlSource } from './yaml-source.js';

/** Values of a top-level `plugin:` or `kind:` that mean an EC2 inventory. */
export const EC2_KIND_NAMES = ['ec2', 'aws_ec2', 'amazon.aws.aws_ec2'] as const;

// What an inventory file turned out to be, with its parsed YAML when it is YAML.
export type DetectedInventory =
  | { kind: 'ansible-yaml'; yaml: YamlSource }
  | { kind: 'ec2'; yaml: YamlSource; line: number | undefined }
  | { kind: 'ansible-ini' };

const INI_EXTENSIONS = new Set(['.ini', '.cfg']);
const YAML_EXTENSIONS = new Set(['.yml', '.yaml', '.json']);
const INI_SECTION_LINE = /^\s*\[[^\]]+\]\s*$/m;

// Chooses the reader by content: `.ini` (or a file that is not a YAML mapping) is INI; a YAML
// mapping with a top-level `plugin: ec2` / `kind: ec2` is EC2; any other YAML is Ansible's shape.
export function detectInventoryKind(file: string, text: string): DetectedInventory {
  const extension = extname(file).toLowerCase();
  if (INI_EXTENSIONS.has(extension)) return { kind: 'ansible-ini' };
  if (YAML_EXTENSIONS.has(extension)) return classifyYaml(parseYamlSource(text, file));

  // No telling extension (Ansible's classic `hosts` file): YAML if it reads as a YAML mapping.
  let yaml: YamlSource;
  try {
    yaml = parseYamlSource(text, file);
  } catch (error) {
    if (INI_SECTION_LINE.test(text)) return { kind: 'ansible-ini' };
    throw error;
  }
  if (isMap(yaml.doc.contents)) return classifyYaml(yaml);
  return { kind: 'ansible-ini' };
}

function classifyYaml(yaml: YamlSource): DetectedInventory {
  const top = yaml.doc.contents;
  if (!isMap(top)) return { kind: 'ansible-yaml', yaml };
  for (const pair of top.items as Pair[]) {
    const key = pair.key as Node | null;
    const value = pair.value as Node | null;
    if (!isScalar(key) || (key.value !== 'plugin' && key.value !== 'kind')) continue;
    // `kind:` holding a mapping is a group that happens to be called "kind".
    if (!isScalar(value) || value.value === null) continue;
    const named = String(value.value);
    const line = yaml.lineOf(key);
    if ((EC2_KIND_NAMES as readonly string[]).includes(named)) return { kind: 'ec2', yaml, line };
    throw new InventoryError(
      'E_INVENTORY_KIND',
      `unknown inventory ${String(key.value)} ${JSON.stringify(named)} (halyard reads Ansible YAML/INI inventories and ec2)`,
      { file: yaml.file, line },
    );
  }
  return { kind: 'ansible-yaml', yaml };
}
