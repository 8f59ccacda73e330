"""Request/response style for HTTP functions, over Lambda's API Gateway v2 events.

    from litefaas.http import Response, handle

    def app(request):
        if request.method == "POST":
            return Response.json({"got": request.json()}, status=201)
        return Response(f"hello {request.query.get('name', 'world')}")

    handler = handle(app)
"""
import base64
import inspect
import json

__all__ = ["Request", "Response", "handle"]


class Request:
    def __init__(self, event):
        http = event.get("requestContext", {}).get("http", {})
        self.method = http.get("method", "GET")
        self.path = event.get("rawPath", "/")
        self.query_string = event.get("rawQueryString", "")
        self.query = dict(event.get("queryStringParameters") or {})
        self.headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
        self.cookies = list(event.get("cookies") or [])
        self.params = dict(event.get("pathParameters") or {})
        self.source_ip = http.get("sourceIp", "")
        body = event.get("body") or ""
        self.body = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")
        self.event = event

    def text(self):
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body or b"null")


class Response:
    def __init__(self, body="", status=200, headers=None):
        self.body = body
        self.status = status
        self.headers = dict(headers or {})

    @classmethod
    def json(cls, value, status=200, headers=None):
        merged = {"content-type": "application/json"}
        merged.update(headers or {})
        return cls(json.dumps(value), status, merged)

    def to_lambda(self):
        headers = {k: str(v) for k, v in self.headers.items()}
        if isinstance(self.body, (bytes, bytearray)):
            return {
                "statusCode": self.status,
                "headers": headers,
                "body": base64.b64encode(bytes(self.body)).decode("ascii"),
                "isBase64Encoded": True,
            }
        headers.setdefault("content-type", "text/plain; charset=utf-8")
        return {"statusCode": self.status, "headers": headers, "body": str(self.body)}


def handle(app):
    """A Lambda handler that calls app(request) and maps what it returns."""

    def mapped(result):
        return result.to_lambda() if isinstance(result, Response) else result

    if inspect.iscoroutinefunction(app):

        async def async_handler(event, context):
            return mapped(await app(Request(event)))

        return async_handler

    def handler(event, context):
        return mapped(app(Request(event)))

    return handler
