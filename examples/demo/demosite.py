"""
The pages of the web2 demo (see site.toml beside this file).

What needs web2-static is guarded, so that the demo starts with web2-core
alone and says what to install for the rest.
"""

import os

from web2 import http, resource
from web2.http_headers import MimeType

HERE = os.path.dirname(os.path.abspath(__file__))

_HTML = MimeType("text", "html", {"charset": "utf-8"})


def _page(title, body):
    return http.Response(200, {"content-type": _HTML}, f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1>
{body}
</body></html>
""")


class Home(resource.Resource):
    """
    The front page: links to everything the demo mounts.
    """

    addSlash = True

    def render(self, request):
        return _page("web2 demo", """<ul>
<li><a href="/simple/">The tutorial's simple page</a></li>
<li><a href="/children/">The tutorial's page with children</a></li>
<li><a href="/files/">Static files, with a directory listing</a></li>
<li><a href="/wsgi/">A WSGI application</a> (web2-wsgi)</li>
<li><a href="/twisted-web/">A twisted.web resource</a> (web2-compat)</li>
<li><a href="/cgi-bin/hello.cgi">A CGI script</a> (web2-cgi)</li>
<li>A read-only WebDAV share of the files at <code>/dav/</code> (web2-dav):
    try <code>cadaver http://localhost:8080/dav/</code> or mount it in a file manager</li>
<li><a href="/plugins">The plugins this server loaded</a></li>
<li><a href="/health">A plain-text health check</a></li>
</ul>""")


class _Missing(resource.LeafResource):
    """
    Stands in for a page whose package is not installed.
    """

    def __init__(self, what, package):
        self.what, self.package = what, package

    def render(self, request):
        return _page(self.what, f"<p>This page needs {self.package}: "
                                f"<code>pip install {self.package}</code></p>")


def children():
    """
    The tutorial's children.py page, when web2-static is installed.
    """
    try:
        import children as tutorial
    except ImportError:
        return _Missing("Children", "web2-static")
    return tutorial.Toplevel()


def publicFiles():
    """
    A listing of public/, when web2-static is installed.
    """
    try:
        from web2.static import File
    except ImportError:
        return _Missing("Files", "web2-static")
    return File(os.path.join(HERE, "public"), listing=True)


def wsgiApplication(environ, start_response):
    """
    A plain WSGI application, run by web2-wsgi in its thread pool.
    """
    body = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>WSGI</title></head>"
        "<body><h1>Hello from WSGI</h1>"
        f"<p>SCRIPT_NAME={environ['SCRIPT_NAME']!r} PATH_INFO={environ['PATH_INFO']!r}</p>"
        "</body></html>"
    ).encode()
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]


def wsgiDemo():
    """
    The WSGI application above, when web2-wsgi is installed.
    """
    try:
        from web2.wsgi import WSGIResource
    except ImportError:
        return _Missing("WSGI", "web2-wsgi")
    return WSGIResource(wsgiApplication)


def twistedWebDemo():
    """
    A resource written for twisted.web, served through web2-compat.
    """
    try:
        from twisted.web import resource as twresource

        import web2.compat  # noqa: F401  (registers the adapter)
    except ImportError:
        return _Missing("twisted.web", "web2-compat")

    class Hello(twresource.Resource):
        isLeaf = True

        def render_GET(self, request):
            request.setHeader(b"content-type", b"text/html; charset=utf-8")
            return (b"<!DOCTYPE html><html><body><h1>Hello from twisted.web</h1>"
                    b"<p>This resource uses the twisted.web API.</p></body></html>")

    return Hello()


def cgiDemo():
    """
    The scripts in cgi-bin/, when web2-cgi is installed.
    """
    try:
        from web2.cgi import CGIDirectory
    except ImportError:
        return _Missing("CGI", "web2-cgi")
    return CGIDirectory(os.path.join(HERE, "cgi-bin"))


def davDemo():
    """
    A read-only WebDAV view of public/, when web2-dav is installed.
    """
    try:
        from web2.dav import DAVFile
    except ImportError:
        return _Missing("WebDAV", "web2-dav")
    return DAVFile(os.path.join(HERE, "public"), readOnly=True)
