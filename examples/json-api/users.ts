import { Hono } from "hono";

interface User {
  id: number;
  name: string;
}

// Instance memory: fine for an example; issue-grade storage lives in env.kv / env.sql.
const users = new Map<number, User>([[1, { id: 1, name: "Ada" }]]);
let nextId = 2;

const app = new Hono();

app.get("/users", (c) => c.json({ users: [...users.values()] }));

app.get("/users/:id", (c) => {
  const user = users.get(Number(c.req.param("id")));
  return user === undefined ? c.json({ error: "no such user" }, 404) : c.json(user);
});

app.post("/users", async (c) => {
  const body = await c.req.json<{ name?: unknown }>().catch(() => ({ name: undefined }));
  if (typeof body.name !== "string" || body.name.length === 0) {
    return c.json({ error: "name must be a non-empty string" }, 400);
  }
  const user = { id: nextId++, name: body.name };
  users.set(user.id, user);
  return c.json(user, 201);
});

export default app;
