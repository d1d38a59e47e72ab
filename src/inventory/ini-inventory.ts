import { InventoryError } from '../core/errors.js';
import { parseHostPattern } from './host-pattern.js';
import { setOwn } from './own-property.js';
import { pythonLiteral } from './python-literal.js';
import { RawInventory } from './raw-inventory.js';
import { splitWords, type Word } from './split-words.js';
import { didYouMean } from './suggest.js';

/** Section suffixes an INI inventory may use after `[group:`. */
export const INI_SECTION_KINDS = ['vars', 'children'] as const;

type Section = { kind: 'hosts' | 'vars' | 'children'; group: string; line: number | undefined };

// Reads Ansible's INI inventory: `[group]` host lines, `[group:vars]` and `[group:children]`.
// `into` gathers several sources (`-i A -i B`) in one inventory, as Ansible does.
export function readAnsibleIni(text: string, file: string, into?: RawInventory): RawInventory {
  const raw = into ?? new RawInventory(file);
  // Hosts above the first section belong to no group but `all` (Ansible's "ungrouped").
  let section: Section = { kind: 'hosts', group: 'all', line: undefined };
  let seenInSection = new Map<string, number>();
  const lines = text.split(/\r?\n/);

  lines.forEach((rawLine, index) => {
    const line = index + 1;
    const content = rawLine.trim();
    if (content === '' || content.startsWith('#') || content.startsWith(';')) return;
    const where = { file, line };

    // A section header ends in "]" (or a comment): `[2001:db8::12]:2222 k=v` is an IPv6 host line,
    // as Ansible's INI plugin reads it.
    if (content.startsWith('[') && /\]\s*(?:[#;].*)?$/.test(content)) {
      section = readSectionHeader(content, where);
      seenInSection = new Map();
      raw.group(section.group, line);
      if (section.group !== 'all') raw.addChild('all', section.group, line);
      return;
    }

    if (section.kind === 'children') {
      const child = content.replace(/\s+[#;].*$/, '');
      checkGroupName(child, where);
      raw.addChild(section.group, child, line);
      return;
    }

    if (section.kind === 'vars') {
      const equals = content.indexOf('=');
      if (equals <= 0) {
        throw new InventoryError('E_INVENTORY_SYNTAX', `expected "name=value" in [${section.group}:vars], got ${JSON.stringify(content)}`, where);
      }
      const name = content.slice(0, equals).trim();
      const valueText = content.slice(equals + 1).trim();
      const firstLine = seenInSection.get(name);
      if (firstLine !== undefined) {
        throw new InventoryError('E_INVENTORY_DUPLICATE_KEY', `var ${JSON.stringify(name)} is written twice in [${section.group}:vars] (first at line ${firstLine})`, where);
      }
      seenInSection.set(name, line);
      const block = raw.varsBlock({ [name]: iniValue(valueText) }, { file, lineOf: () => line });
      raw.addGroupVars(section.group, block);
      return;
    }

    // A host line: `name[:port] key=value ...`.
    let words: Word[];
    try {
      words = splitWords(content, { comments: true });
    } catch (error) {
      throw new InventoryError('E_INVENTORY_SYNTAX', (error as Error).message, where);
    }
    const [hostWord, ...varWords] = words;
    if (!hostWord) return;
    const firstLine = seenInSection.get(hostWord.text);
    if (firstLine !== undefined) {
      const group = section.group === 'all' ? 'the ungrouped hosts' : `[${section.group}]`;
      throw new InventoryError('E_INVENTORY_DUPLICATE_HOST', `host ${JSON.stringify(hostWord.text)} is listed twice in ${group} (first at line ${firstLine})`, where);
    }
    seenInSection.set(hostWord.text, line);
    const pattern = parseHostPattern(hostWord.text, where);
    const vars: Record<string, unknown> = {};
    for (const word of varWords) {
      const equals = word.text.indexOf('=');
      if (equals <= 0) {
        throw new InventoryError('E_INVENTORY_SYNTAX', `expected "name=value" after host ${JSON.stringify(hostWord.text)}, got ${JSON.stringify(word.text)}`, where);
      }
      const valueText = word.text.slice(equals + 1);
      // shlex has removed the quotes already: "8080" on a host line is 8080, as in Ansible.
      setOwn(vars, word.text.slice(0, equals), iniValue(valueText));
    }
    const block = raw.varsBlock(vars, { file, lineOf: () => line });
    const portVars = pattern.port === undefined ? undefined : raw.varsBlock({ ansible_port: pattern.port }, { file, lineOf: () => line });
    for (const name of pattern.names) raw.addHost(section.group, name, line, block, portVars);
  });
  return raw;
}

function readSectionHeader(content: string, where: { file: string; line: number }): Section {
  const match = /^\[([^\]]*)\]\s*(?:[#;].*)?$/.exec(content);
  if (!match) throw new InventoryError('E_INVENTORY_SYNTAX', `malformed section header ${JSON.stringify(content)}`, where);
  const header = (match[1] ?? '').trim();
  const colon = header.indexOf(':');
  const group = colon < 0 ? header : header.slice(0, colon);
  checkGroupName(group, where);
  if (colon < 0) return { kind: 'hosts', group, line: where.line };
  const suffix = header.slice(colon + 1);
  if (suffix === 'vars' || suffix === 'children') return { kind: suffix, group, line: where.line };
  throw new InventoryError(
    'E_INVENTORY_UNKNOWN_KEY',
    `unknown section kind ${JSON.stringify(suffix)} in [${header}] (expected :vars or :children)${didYouMean(suffix, INI_SECTION_KINDS)}`,
    where,
  );
}

function checkGroupName(name: string, where: { file: string; line: number }): void {
  if (name === '' || /\s/.test(name)) {
    throw new InventoryError('E_INVENTORY_GROUP_NAME', `group name ${JSON.stringify(name)} must be non-empty and without whitespace`, where);
  }
}

// Ansible's _parse_value: a Python literal (numbers, True/False/None, quoted strings, lists,
// dicts, tuples) becomes its value, any other text stays as written. In [group:vars] the text
// after "=" is read whole, quotes and comments included ('"8080"' is the string 8080, '1 # x' is 1).
function iniValue(text: string): unknown {
  const literal = pythonLiteral(text);
  return literal === undefined ? text : literal.value;
}
