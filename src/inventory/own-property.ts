// Sets a key as an own data property, so a var named "__proto__" stays a var and changes no prototype.
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
