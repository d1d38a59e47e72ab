import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Redactor, SECRET_MASK, Secret, WITHHELD_LINE, isSecret, maskableInPlace } from '../../src/core/secret.js';
import { contentForDisplay, contentIsSecret, contentSha256, template } from '../../src/core/template.js';

describe('Secret', () => {
  const secret = new Secret('hunter2-value', 'db_password');

  it('prints only the mask through every printer', () => {
    expect(String(secret)).toBe(SECRET_MASK);
    expect(`${secret}`).toBe(SECRET_MASK);
    expect(JSON.stringify({ secret })).toBe(`{"secret":"${SECRET_MASK}"}`);
    expect(inspect(secret)).toBe('Secret(db_password)');
    expect(secret.reveal()).toBe('hunter2-value');
  });

  it('is recognised across module copies by its brand', () => {
    const lookalike = { [Symbol.for('halyard.secret')]: true };
    expect(isSecret(lookalike)).toBe(true);
    expect(isSecret('hunter2-value')).toBe(false);
  });

  it('templates keep secrets typed: real bytes for the host, masks for display', () => {
    const text = template`PASSWORD=${secret}\nUSER=${'app'}\n`;
    expect(text.reveal()).toBe('PASSWORD=hunter2-value\nUSER=app\n');
    expect(text.masked()).toBe(`PASSWORD=${SECRET_MASK}\nUSER=app\n`);
    expect(JSON.stringify(text)).not.toContain('hunter2');
    expect(contentIsSecret(text)).toBe(true);
    expect(contentForDisplay(text)).not.toContain('hunter2');
    // The hash compares the real bytes the host will hold.
    expect(contentSha256(text)).toBe(createHash('sha256').update('PASSWORD=hunter2-value\nUSER=app\n').digest('hex'));
  });

  it('redacts every known value in free text, longest first', () => {
    const redactor = new Redactor();
    redactor.add(secret);
    redactor.addAll({ nested: { other: new Secret('hunter2-value-longer') } });
    expect(redactor.redact('error: hunter2-value-longer and hunter2-value')).toBe(`error: ${SECRET_MASK} and ${SECRET_MASK}`);
  });
});

describe('Redactor: secrets that masking alone would give away', () => {
  it('masks each line of a multi-line secret on its own (a label shows one line, a tail another)', () => {
    const redactor = new Redactor();
    redactor.add(new Secret('first-line-of-key\nsecond-line-of-key\n}', 'pem'));
    expect(redactor.redact('run cat <<EOF first-line-of-key …')).toBe(`run cat <<EOF ${SECRET_MASK} …`);
    expect(redactor.redact('error: second-line-of-key rejected')).toBe(`error: ${SECRET_MASK} rejected`);
    // Its short structural lines are not secrets by themselves: "}" stays.
    expect(redactor.redact('{ "a": 1 }')).toBe('{ "a": 1 }');
  });

  it.each([
    ['one character', 'x'],
    ['three characters', 'abc'],
    ['a common word', 'the'],
    ['a common password word', 'admin'],
    ['a short number', '1234'],
  ])('%s is never masked in prose, and a line holding it as a word is withheld', (_name, value) => {
    const redactor = new Redactor();
    redactor.add(new Secret(value, 'pin'));
    // Inside longer words it is left alone, so no mask points at it.
    expect(redactor.redact('xenon abcdef 12345 atheist administrator')).toBe('xenon abcdef 12345 atheist administrator');
    expect(redactor.redact(`login failed: password ${value} rejected\nnext line`)).toBe(`${WITHHELD_LINE}\nnext line`);
    expect(redactor.redact(`login failed: password ${value} rejected`)).not.toContain(` ${value} `);
    expect(redactor.redact('x')).not.toContain(SECRET_MASK);
  });

  it('a common-word secret withholds the prose lines that hold it, and masks nothing', () => {
    const redactor = new Redactor();
    redactor.add(new Secret('the', 'pw'));
    expect(redactor.redact('the file changed\nfile changed\nother lines')).toBe(`${WITHHELD_LINE}\nfile changed\nother lines`);
  });

  it('classifies what can be masked in place', () => {
    expect(['hunter2-value', 'S3cr3t!', '482915', 'correct horse'].every(maskableInPlace)).toBe(true);
    expect(['x', 'ab', 'abc', 'the', 'Password', 'admin', '1234', '00000'].some(maskableInPlace)).toBe(false);
  });
});
