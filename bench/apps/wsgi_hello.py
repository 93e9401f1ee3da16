"""
The WSGI application every WSGI server in the benchmark runs: a fixed 14-byte
body for C{GET}, and for C{POST} a drain of C{wsgi.input} that reports how many
bytes arrived (the 100 MiB upload scenario).
"""

_BODY = b"Hello, world!\n"
_CHUNK = 65536


def app(environ, start_response):
    """
    Answer C{Hello, world!} or, for a request with a body, its byte count.
    """
    if environ["REQUEST_METHOD"] == "POST":
        stream = environ["wsgi.input"]
        total = 0
        while True:
            data = stream.read(_CHUNK)
            if not data:
                break
            total += len(data)
        body = b"%d\n" % (total,)
    else:
        body = _BODY
    start_response(
        "200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
    )
    return [body]
