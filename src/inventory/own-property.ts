// Sets a key as an own data property, so a var named "__proto__" stays a var and changes no prototype.
// Only "__proto__" is an accessor on Object.prototype; every other key assigns as an own property.
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
