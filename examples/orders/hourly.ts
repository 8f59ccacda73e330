// Runs at the top of every hour (UTC); a tick missed while the platform was down runs on start.
interface Env {
  kv: {
    put(key: string, value: string): Promise<number>;
    get(key: string): Promise<string | null>;
  };
}

export default {
  async scheduled(event: { scheduledTime: number; cron: string }, env: Env): Promise<void> {
    await env.kv.put("last-run", new Date(event.scheduledTime).toISOString());
  },
  async fetch(_request: Request, env: Env): Promise<Response> {
    return Response.json({ lastRun: await env.kv.get("last-run") });
  },
};
