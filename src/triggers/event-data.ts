// Event payloads in records and destinations: JSON stays JSON, text stays text, bytes go base64.
import { utf8OrUndefined } from "../shared/utf8.js";

export { utf8OrUndefined };

/** A payload as a JSON value for a record: parsed JSON, else text, else { base64 }. */
export function payloadForRecord(bytes: Uint8Array, contentType: string | undefined): unknown {
  const text = utf8OrUndefined(bytes);
  if (text === undefined) return { base64: Buffer.from(bytes).toString("base64") };
  const type = (contentType ?? "").toLowerCase();
  if (type === "" || type.includes("json")) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}
