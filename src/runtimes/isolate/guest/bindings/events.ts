// env.events: publish a project-scoped event. Functions never see NATS: the platform maps the
// subject into the project's namespace.
import type { BindingCall } from "./call.js";

export function createEvents(call: BindingCall) {
  return Object.freeze({
    async publish(
      subject: unknown,
      data?: unknown,
      options: { headers?: Record<string, string> } = {},
    ): Promise<void> {
      let payload: string | ArrayBuffer;
      let contentType: string;
      if (typeof data === "string") [payload, contentType] = [data, "text/plain; charset=utf-8"];
      else if (data instanceof ArrayBuffer)
        [payload, contentType] = [data, "application/octet-stream"];
      else if (ArrayBuffer.isView(data)) {
        payload = data.buffer.slice(
          data.byteOffset,
          data.byteOffset + data.byteLength,
        ) as ArrayBuffer;
        contentType = "application/octet-stream";
      } else [payload, contentType] = [JSON.stringify(data ?? null), "application/json"];
      const headers: Record<string, string> = { "content-type": contentType };
      for (const [k, v] of Object.entries(options.headers ?? {}) as Array<[string, unknown]>)
        headers[k] = String(v);
      await call("publish", [String(subject), payload, headers]);
    },
  });
}
