import { extname } from 'node:path';
import { isMap } from 'yaml';
import { InventoryError } from '../core/errors.js';
import { readPlainBlockYaml } from './yaml-fast.js';
import { parseYamlSource, type YamlSource } from './yaml-source.js';
import { documentTree, type YamlTree } from './yaml-tree.js';

/** Values of a top-level `plugin:` or `kind:` that mean an EC2 inventory. */
export const EC2_KIND_NAMES = ['ec2', 'aws_ec2', 'amazon.aws.aws_ec2'] as const;

// What an inventory file turned out to be: Ansible YAML as a tree (with the full parser's tree
// when the plain-block reader made it, to describe a refusal as the full parser does), EC2 with
// its parsed YAML, or INI.
export type DetectedInventory =
  | { kind: 'ansible-yaml'; tree: YamlTree; fullTree?: () => YamlTree }
  | { kind: 'ec2'; yaml: YamlSource; line: number | undefined }
  | { kind: 'ansible-ini' };

const INI_EXTENSIONS = new Set(['.ini', '.cfg']);
const YAML_EXTENSIONS = new Set(['.yml', '.yaml', '.json']);
const INI_SECTION_LINE = /^\s*\[[^\]]+\]\s*$/m;

// Chooses the reader by content: `.ini` (or a file that is not a YAML mapping) is INI; a YAML
// mapping with a top-level `plugin: ec2` / `kind: ec2` is EC2; any other YAML is Ansible's shape.
// Plain block YAML (every large inventory) is read by the linear reader, anything else by yaml.
export function detectInventoryKind(file: string, text: string): DetectedInventory {
  const extension = extname(file).toLowerCase();
  if (INI_EXTENSIONS.has(extension)) return { kind: 'ansible-ini' };
  const plain = readPlainBlockYaml(text, file);
  if (plain && (YAML_EXTENSIONS.has(extension) || plain.root?.kind === 'map')) {
    return classifyYaml(plain, text, () => documentTree(parseYamlSource(text, file)));
  }
  if (YAML_EXTENSIONS.has(extension)) return classifyYaml(documentTree(parseYamlSource(text, file)), text);

  // No telling extension (Ansible's classic `hosts` file): YAML if it reads as a YAML mapping.
  let yaml: YamlSource;
  try {
    yaml = parseYamlSource(text, file);
  } catch (error) {
    if (INI_SECTION_LINE.test(text)) return { kind: 'ansible-ini' };
    throw error;
  }
  if (isMap(yaml.doc.contents)) return classifyYaml(documentTree(yaml), text);
  return { kind: 'ansible-ini' };
}

function classifyYaml(tree: YamlTree, text: string, fullTree?: () => YamlTree): DetectedInventory {
  const yamlInventory: DetectedInventory = fullTree ? { kind: 'ansible-yaml', tree, fullTree } : { kind: 'ansible-yaml', tree };
  if (tree.root?.kind !== 'map') return yamlInventory;
  for (const { key, value, line } of tree.root.entries()) {
    if (key?.kind !== 'scalar' || (key.scalar !== 'plugin' && key.scalar !== 'kind')) continue;
    // `kind:` holding a mapping is a group that happens to be called "kind".
    if (value?.kind !== 'scalar' || value.scalar === null) continue;
    const named = String(value.scalar);
    if ((EC2_KIND_NAMES as readonly string[]).includes(named)) return { kind: 'ec2', yaml: parseYamlSource(text, tree.file), line };
    throw new InventoryError(
      'E_INVENTORY_KIND',
      `unknown inventory ${String(key.scalar)} ${JSON.stringify(named)} (halyard reads Ansible YAML/INI inventories and ec2)`,
      { file: tree.file, line },
    );
  }
  return yamlInventory;
}
