# litefaas's Python runtime: the AWS Lambda Runtime API loop, standard library only. It imports
# the handler named by _HANDLER ("module.function") from the task root, then serves one event
# at a time: GET next, call the handler (plain or async def), POST the response or the error.
# Start-up time is the cold start: only what every invocation needs is imported up front.
import importlib
import json
import os
import sys
import time

from litefaas._api import Connection

PREFIX = "/2018-06-01/runtime"


class Context:
    """What Lambda's Python runtime passes as the second argument."""

    def __init__(self, request_id, deadline_ms, arn):
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


def post(conn, path, body, headers=None):
    conn.request("POST", PREFIX + path, body, headers)


def error_body(error):
    import traceback

    return json.dumps(
        {
            "errorMessage": str(error),
            "errorType": type(error).__name__,
            "stackTrace": traceback.format_exception(type(error), error, error.__traceback__),
        }
    )


def load_handler(conn):
    task_root = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")
    sys.path.insert(0, task_root)
    deps = os.path.join(task_root, "python")
    if os.path.isdir(deps):
        sys.path.insert(1, deps)
    spec = os.environ.get("_HANDLER", "main.handler")
    module_name, _, function_name = spec.rpartition(".")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
        handler = getattr(module, function_name)
        if not callable(handler):
            raise TypeError(f"{spec} is not a function")
        return handler
    except Exception as error:  # the platform reports it as an init failure
        post(
            conn,
            "/init/error",
            error_body(error),
            {"Lambda-Runtime-Function-Error-Type": "Runtime.ImportModuleError"},
        )
        import traceback

        traceback.print_exc()
        sys.exit(1)


def await_assignment(conn):
    """A prepared process: started, and its imports done, before any function needed it. It
    waits for the environment of the function it becomes; its code is in /var/task by then."""
    import litefaas  # noqa: F401 (imported now, while nobody waits)

    _status, _headers, body = conn.request("GET", "/litefaas/v1/assignment")
    os.environ.update(json.loads(body)["env"])


def main():
    conn = Connection()
    if sys.argv[1:] == ["--prepared"]:
        await_assignment(conn)
    handler = load_handler(conn)
    from litefaas import _bind_invocation

    while True:
        _status, headers, body = conn.request("GET", PREFIX + "/invocation/next")
        request_id = headers.get("lambda-runtime-aws-request-id")
        deadline = int(headers.get("lambda-runtime-deadline-ms") or "0")
        arn = headers.get("lambda-runtime-invoked-function-arn", "")
        trace = headers.get("lambda-runtime-trace-id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        _bind_invocation(request_id)
        try:
            result = handler(json.loads(body or b"null"), Context(request_id, deadline, arn))
            if hasattr(result, "__await__"):  # async def
                import asyncio

                result = asyncio.run(result)
            payload = json.dumps(result)
        except Exception as error:  # the platform logs it with the request's id
            sys.stdout.flush()
            post(
                conn,
                f"/invocation/{request_id}/error",
                error_body(error),
                {"Lambda-Runtime-Function-Error-Type": "Unhandled"},
            )
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        post(conn, f"/invocation/{request_id}/response", payload)


if __name__ == "__main__":
    main()
