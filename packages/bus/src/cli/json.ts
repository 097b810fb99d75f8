// JSON output for D-Bus values: bigints as strings, byte arrays as number arrays, variants as {signature, value}.

/** A JSON.stringify replacer that never throws on D-Bus value shapes. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Array.from(value);
  if (value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    // Buffer.toJSON runs before the replacer sees the Buffer itself.
    return (value as { data: number[] }).data;
  }
  if (value instanceof Map) return Object.fromEntries(value);
  return value;
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, jsonReplacer);
}
