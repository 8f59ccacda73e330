// The admin token's check, shared by the admin API and /metrics: compared as SHA-256 digests in
// constant time, so neither the token's length nor its bytes leak through timing.
import { createHash, timingSafeEqual } from "node:crypto";

export function bearerCheck(token: string): (header: string | undefined) => boolean {
  const expected = createHash("sha256").update(token).digest();
  return (header) => {
    if (header === undefined || !header.startsWith("Bearer ")) return false;
    const given = createHash("sha256").update(header.slice(7).trim()).digest();
    return timingSafeEqual(given, expected);
  };
}
