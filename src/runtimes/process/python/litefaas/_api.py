"""The connection to the platform's local API: the instance's own Unix socket inside the
sandbox (no loopback bridge on the way), else AWS_LAMBDA_RUNTIME_API's host:port.

A minimal HTTP/1.1 client of our own rather than http.client: importing http.client (and the
email parser and ssl it pulls in) costs ~35 ms, a third of a cold start, and the only server it
talks to is the platform's, which always sends Content-Length. For the same reason it uses the
C module _socket, not socket.py (whose enum and selectors imports cost ~7 ms per start)."""
import _socket
import os


class ApiError(ConnectionError):
    pass


class Connection:
    def __init__(self):
        self._sock = None
        self._buffer = b""

    def _connect(self):
        path = os.environ.get("RUNTIME_API_SOCKET")
        if path and os.path.exists(path):
            sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            sock.connect(path)
        else:
            # the platform's own loopback address (127.0.0.1:port)
            host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
            family = _socket.AF_INET6 if ":" in host else _socket.AF_INET
            sock = _socket.socket(family, _socket.SOCK_STREAM)
            sock.connect((host.strip("[]"), int(port)))
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        self._sock = sock
        self._buffer = b""

    def request(self, method, path, body=b"", headers=None):
        """(status, {lower-case name: value}, body); one retry on a closed keep-alive connection."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        lines = [f"{method} {path} HTTP/1.1", "Host: runtime", f"Content-Length: {len(body)}"]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        message = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        for attempt in (0, 1):
            if self._sock is None:
                self._connect()
            try:
                self._sock.sendall(message)
                return self._read()
            except (OSError, ApiError):
                self.close()
                if attempt == 1:
                    raise

    def _read(self):
        while b"\r\n\r\n" not in self._buffer:
            self._fill()
        head, _, rest = self._buffer.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        self._buffer = rest
        while len(self._buffer) < length:
            self._fill()
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return int(status_line.split(" ", 2)[1]), headers, body

    def _fill(self):
        chunk = self._sock.recv(65536)
        if not chunk:
            raise ApiError("the platform closed the connection")
        self._buffer += chunk

    def close(self):
        if self._sock is not None:
            self._sock.close()
        self._sock = None
