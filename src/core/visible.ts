// Text from hosts, inventories and playbooks reaches a terminal only through visible(): control
// characters are shown as escapes (ESC as \x1b), so a host cannot move the cursor, erase lines,
// retitle the terminal or draw a fake recap. Newlines and tabs stay; JSON output escapes on its own.

// C0 controls but \t and \n, DEL, C1 controls, and the bidirectional overrides and isolates that
// reorder what is shown ("Trojan Source").
const HIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

// Shows one character as \xNN (or \uNNNN above U+00FF).
function escapeCharacter(character: string): string {
  const code = character.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

// The text with every hidden character made visible; plain text comes back unchanged.
export function visible(text: string): string {
  return text.replace(HIDDEN, escapeCharacter);
}

// visible(), and a line break as well: for one-line fields such as host and task names.
export function visibleLine(text: string): string {
  return visible(text).replace(/\n/g, '\\n');
}
