// WebIDL-style conversions of what user code passes in: at run time an argument typed `string`
// may be anything, and the platform converts it the way browsers do.

export function toDOMString(value: unknown): string {
  return String(value);
}

export function toNumber(value: unknown): number {
  return Number(value);
}
