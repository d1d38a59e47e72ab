// One word of a shell-like line, and whether any part of it was quoted (quoted text stays a string).
export interface Word {
  text: string;
  quoted: boolean;
}

// Splits a line the way Python's shlex does for Ansible INI hosts and `-e "a=1 b='x y'"`.
// Throws a plain Error on an unterminated quote; callers turn it into their own error class.
export function splitWords(line: string, options: { comments?: boolean } = {}): Word[] {
  const words: Word[] = [];
  let text = '';
  let quoted = false;
  let inWord = false;
  let index = 0;
  const finish = (): void => {
    if (inWord) words.push({ text, quoted });
    text = '';
    quoted = false;
    inWord = false;
  };
  while (index < line.length) {
    const char = line[index] ?? '';
    if (/\s/.test(char)) {
      finish();
      index++;
      continue;
    }
    // shlex (posix, comments on): `#` outside quotes starts a comment even inside a word (`k=a#b` is `k=a`).
    if (char === '#' && options.comments) break;
    if (char === "'" || char === '"') {
      const close = readQuoted(line, index);
      text += close.text;
      quoted = true;
      inWord = true;
      index = close.next;
      continue;
    }
    if (char === '\\' && index + 1 < line.length) {
      text += line[index + 1];
      inWord = true;
      index += 2;
      continue;
    }
    text += char;
    inWord = true;
    index++;
  }
  finish();
  return words;
}

function readQuoted(line: string, start: number): { text: string; next: number } {
  const quote = line[start];
  let text = '';
  let index = start + 1;
  while (index < line.length) {
    const char = line[index];
    if (char === quote) return { text, next: index + 1 };
    if (quote === '"' && char === '\\' && index + 1 < line.length && '"\\$`'.includes(line[index + 1] ?? '')) {
      text += line[index + 1];
      index += 2;
      continue;
    }
    text += char;
    index++;
  }
  throw new Error(`unterminated ${quote === '"' ? 'double' : 'single'} quote`);
}
