"""
An example third-party web2 plugin.

Hooks are plain functions named after the hooks of L{web2.hookspecs}; the
module is registered as the entry point C{example} of the group C{web2}.
"""

from web2 import http
from web2.hookspecs import Option
from web2.http_headers import MimeType
from web2.resource import LeafResource

TEXT = MimeType("text", "plain", {"charset": "utf-8"})

__version__ = "0.1.0"


class Hello(LeafResource):
    """
    Answers every path below its mount with a greeting in plain text.
    """

    def __init__(self, text: str):
        self.text = text

    def render(self, request):
        return http.Response(200, {"content-type": TEXT}, self.text + "\n")


def _helloKind(argument, config, punctuation="!"):
    if not argument:
        raise ValueError("hello: needs a name, e.g. hello:world")
    return Hello(f"{config.get('greeting') or 'Hello'}, {argument}{punctuation}")


def web2_options():
    return [Option("greeting", help="Serve this greeting at /hello.")]


def web2_mount_kinds():
    return {"hello": _helloKind}


def web2_mounts(config):
    greeting = config.get("greeting")
    if greeting:
        return [("/hello", Hello(greeting))]
    return []
