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
