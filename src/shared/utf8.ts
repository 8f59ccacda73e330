// Bytes shown to people as text when they are UTF-8, else as base64.
const strict = new TextDecoder("utf-8", { fatal: true });

export function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return strict.decode(bytes);
  } catch {
    return undefined;
  }
}
