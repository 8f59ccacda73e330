"""litefaas for Python functions: the function's own KV store, SQL database and events.

    from litefaas import kv, sql, events

    def handler(event, context):
        visits = kv.increment("visits")
        rows = sql.query("SELECT name FROM todos WHERE done = ?", 0)
        events.publish("orders.created", {"id": 42})
        return {"visits": visits, "todos": rows}

The same semantics as the isolate's env.kv, env.sql and env.events; the calls go to the
platform over the local Runtime API, and work while the handler runs.
"""
import base64
import json

from litefaas._api import Connection

__all__ = ["kv", "sql", "events", "BindingError", "KvConflictError"]

_request_id = None
_conn = Connection()


class BindingError(Exception):
    """A binding refused the call; `name` is the error's kind (TypeError, RangeError, …)."""

    def __init__(self, name, message):
        super().__init__(message)
        self.name = name


class KvConflictError(BindingError):
    """kv.put(…, if_revision=n) found another revision."""


def _bind_invocation(request_id):
    global _request_id
    _request_id = request_id


def _to_wire(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (list, tuple)):
        return [_to_wire(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_wire(v) for k, v in value.items()}
    return value


def _from_wire(value):
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get("$bytes"), str):
            return base64.b64decode(value["$bytes"])
        return {k: _from_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_wire(v) for v in value]
    return value


def _call(binding, op, args):
    headers = {"Content-Type": "application/json"}
    if _request_id is not None:
        headers["Lambda-Runtime-Aws-Request-Id"] = _request_id
    _status, _headers, body = _conn.request(
        "POST", f"/litefaas/v1/bindings/{binding}/{op}", json.dumps(_to_wire(list(args))), headers
    )
    answer = json.loads(body or b"{}")
    if "error" in answer:
        error = answer["error"]
        kind = KvConflictError if error.get("name") == "KvConflictError" else BindingError
        raise kind(error.get("name", "Error"), error.get("message", ""))
    return _from_wire(answer.get("value"))


class _Kv:
    """The function's own key-value store."""

    def get(self, key, type="text"):
        """The value as text (default), bytes or parsed JSON; None when absent."""
        value = _call("kv", "get", [key])
        return None if value is None else _decode(value, type)

    def get_with_revision(self, key, type="text"):
        value, revision = _call("kv", "getWithRevision", [key])
        return (None if value is None else _decode(value, type)), revision

    def put(self, key, value, expiration_ttl=None, if_revision=None):
        """Store str, bytes, or anything JSON; returns the new revision."""
        data = value if isinstance(value, (str, bytes, bytearray)) else json.dumps(value)
        ttl_ms = None if expiration_ttl is None else expiration_ttl * 1000
        return _call("kv", "put", [key, data, ttl_ms, if_revision])

    def delete(self, key):
        _call("kv", "delete", [key])

    def list(self, prefix="", limit=1000, cursor=None):
        keys, next_cursor = _call("kv", "list", [prefix, limit, cursor])
        page = {
            "keys": [
                {"name": name} if expires is None else {"name": name, "expiration": expires // 1000}
                for name, expires in keys
            ],
            "list_complete": next_cursor is None,
        }
        if next_cursor is not None:
            page["cursor"] = next_cursor
        return page

    def increment(self, key, by=1):
        return _call("kv", "increment", [key, by])


def _decode(value, type):
    if type == "bytes":
        return value
    text = value.decode("utf-8")
    return json.loads(text) if type == "json" else text


class _Sql:
    """The function's own SQL database (SQLite embedded, PostgreSQL on a cluster)."""

    def query(self, statement, *params):
        """Rows as dicts."""
        columns, rows, _meta = _call("sql", "query", [statement, list(params)])
        return [dict(zip(columns, row)) for row in rows]

    def execute(self, statement, *params):
        """Run a statement; returns its meta (rowsRead, rowsWritten, lastRowId, …)."""
        _columns, _rows, meta = _call("sql", "query", [statement, list(params)])
        return meta

    def batch(self, statements):
        """[(sql, [params]), …] in one transaction; a list of row lists."""
        results = _call("sql", "batch", [[[s, list(p)] for s, p in statements]])
        return [[dict(zip(columns, row)) for row in rows] for columns, rows, _meta in results]

    def exec(self, script):
        """Several statements without parameters (e.g. a schema); returns how many ran."""
        count, _duration = _call("sql", "exec", [script])
        return count


class _Events:
    """Publish a project event; the platform carries it (functions never see NATS)."""

    def publish(self, subject, data=None, headers=None):
        if isinstance(data, str):
            payload, content_type = data, "text/plain; charset=utf-8"
        elif isinstance(data, (bytes, bytearray)):
            payload, content_type = bytes(data), "application/octet-stream"
        else:
            payload, content_type = json.dumps(data), "application/json"
        all_headers = {"content-type": content_type}
        all_headers.update({k: str(v) for k, v in (headers or {}).items()})
        _call("events", "publish", [subject, payload, all_headers])


kv = _Kv()
sql = _Sql()
events = _Events()
