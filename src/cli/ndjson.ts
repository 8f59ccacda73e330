// Following an NDJSON stream from the admin API (logs --follow, events tail): one callback per
// non-empty line, as it arrives.
export async function eachLine(response: Response, onLine: (raw: string) => void): Promise<void> {
  if (response.body === null) return;
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const raw of lines) if (raw.trim().length > 0) onLine(raw);
  }
}
