import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Redactor, SECRET_MASK, Secret, isSecret } from '../../src/core/secret.js';
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
