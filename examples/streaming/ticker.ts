import type { ExportedHandler } from "litefaas";

export default {
  fetch(request) {
    const count = Math.min(Number(new URL(request.url).searchParams.get("count") ?? "5"), 100);
    const encoder = new TextEncoder();
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === count) {
          controller.enqueue(encoder.encode("event: done\ndata: bye\n\n"));
          controller.close();
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
        sent++;
        controller.enqueue(
          encoder.encode(
            `id: ${sent}\ndata: ${JSON.stringify({ tick: sent, at: Date.now() })}\n\n`,
          ),
        );
      },
    });
    const headers = new Headers({
      "content-type": "text/event-stream",
      "cache-control": "no-store",
    });
    headers.append("set-cookie", "seen=1; Path=/; HttpOnly");
    headers.append("set-cookie", "theme=dark; Path=/");
    return new Response(stream, { headers });
  },
} satisfies ExportedHandler;
