"""
WSGI applications for the plugin tests, importable as C{_wsgi_sample}.
"""


def application(environ, start_response):
    body = f"sample {environ['SCRIPT_NAME']}|{environ['PATH_INFO']}".encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]


def create_app():
    return application


class Holder:
    app = staticmethod(application)


notCallable = 42
