# -*- test-case-name: test_plugins -*-
"""
web2-core's own built-in plugin, registered under the name C{core}.

Its mount kinds:

  - C{class:package.module.Class}: an instance of a resource class that
    takes no arguments (like C{twistd web --class});
  - C{redirect:URL}: a permanent redirect of the mount path and everything
    below it to C{URL};
  - C{plugins:}: an HTML page listing the loaded plugins, their versions
    and their hooks;
  - C{text:SOME TEXT}: a plain-text page, handy for health checks;
  - C{proxy:URL}: a reverse proxy to the upstream C{URL}
    (L{web2.revproxy}; its options in the mount's site-file table).

Its access-log formats: C{combined}, C{common} and C{json}.
"""

from __future__ import annotations

import html

from twisted.python.reflect import namedAny
from zope.interface import implementer

from web2.iweb import IResource
from web2.log import FORMATTERS


@implementer(IResource)
class _Leaf:
    """
    A resource answering every path below it the same way.
    """

    def __init__(self, respond):
        self._respond = respond

    def locateChild(self, request, segments):
        return self, ()

    def renderHTTP(self, request):
        return self._respond(request)


def _classMount(argument: str, config):
    if not argument:
        raise ValueError("class: needs a dotted name, e.g. class:myproject.web.Root")
    try:
        cls = namedAny(argument)
    except (ImportError, AttributeError, ValueError) as e:
        raise ValueError(f"cannot find class {argument!r}: {e}") from None
    try:
        return cls()
    except TypeError as e:
        raise ValueError(f"{argument} cannot be made without arguments: {e}") from None


def _redirectMount(argument: str, config, temporary: bool = False):
    from web2 import http

    if not argument:
        raise ValueError("redirect: needs a target URL, e.g. redirect:https://example.com/")
    return _Leaf(lambda request: http.RedirectResponse(argument, temporary=temporary))


def _textMount(argument: str, config, content_type: str = "text/plain"):
    from web2 import http
    from web2.http_headers import MimeType

    major, slash, minor = content_type.partition("/")
    if not slash or not major or not minor:
        raise ValueError(f"content_type {content_type!r} is not TYPE/SUBTYPE")
    mime = MimeType(major, minor, {"charset": "utf-8"})
    body = argument.encode("utf-8")
    return _Leaf(lambda request: http.Response(200, {"content-type": mime}, body))


def _pluginsPage(config) -> bytes:
    from web2.plugins import describe_plugins

    rows = []
    for info in describe_plugins(config.pluginManager):
        hooks = ", ".join(info.hooks) or "(none)"
        status = "broken: " + info.error if info.error else hooks
        rows.append(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
                *map(html.escape, (info.name, info.distribution, info.version, status))))
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        "<title>web2 plugins</title></head><body><h1>web2 plugins</h1>\n"
        "<table><tr><th>plugin</th><th>distribution</th><th>version</th>"
        "<th>hooks</th></tr>\n" + "\n".join(rows) + "\n</table></body></html>\n"
    ).encode("utf-8")


def _pluginsMount(argument: str, config):
    from web2 import http
    from web2.http_headers import MimeType

    if config.pluginManager is None:
        raise ValueError("plugins: needs the site's plugin manager")
    mime = MimeType("text", "html", {"charset": "utf-8"})
    return _Leaf(lambda request: http.Response(200, {"content-type": mime},
                                               _pluginsPage(config)))


def _proxyMount(argument: str, config, **options):
    from web2.revproxy import proxyMount

    return proxyMount(argument, config, **options)


def _metricsMount(argument: str, config):
    from web2.metrics import metricsMount

    return metricsMount(argument, config)


def web2_mount_kinds():
    return {
        "class": _classMount,
        "proxy": _proxyMount,
        "redirect": _redirectMount,
        "plugins": _pluginsMount,
        "text": _textMount,
        "metrics": _metricsMount,
    }


def web2_access_log_formatters():
    return dict(FORMATTERS)


# Options the core itself offers: features of web2-core that an operator
# turns on from the command line or the [options] table of a site file.


def web2_options():
    from web2.hookspecs import Option

    return [
        Option(
            "trusted-proxy", multiple=True,
            help="Trust Forwarded / X-Forwarded-* headers from this address or "
                 "range (e.g. 127.0.0.1, 10.0.0.0/8, unix). Off by default.",
        ),
        Option(
            "trusted-proxy-header", default="x-forwarded",
            help="The one forwarding header family the trusted proxy writes: "
                 "x-forwarded (X-Forwarded-For and friends, the default) or forwarded "
                 "(RFC 7239). The other is never believed.",
        ),
        Option(
            "trusted-proxy-fields", default="for,proto",
            help="Comma-separated fields the trusted proxy sets and web2 may believe: "
                 "for, proto, host, port, prefix (default for,proto). A field the proxy "
                 "does not overwrite would pass the client's own value through.",
        ),
        Option(
            "gzip", flag=True,
            help="Compress textual responses with gzip or deflate when the client "
                 "accepts it.",
        ),
        Option(
            "auth", multiple=True,
            help="PATH=basic:REALM:HTPASSWD-FILE or PATH=digest:REALM:HTDIGEST-FILE: "
                 "require a login for the mount at PATH (htpasswd: bcrypt, $apr1$ or "
                 "{SHA} hashes; the file is re-read when it changes).",
        ),
        Option(
            "vhost", multiple=True,
            help="HOST=MOUNTPATH: answer requests for HOST with the resource mounted "
                 "at MOUNTPATH (other hosts get the whole site).",
        ),
    ]


def web2_wrap_root(root, config):
    from web2.config import ConfigError

    options = getattr(config, "options", None) or {}
    if not (options.get("vhost") or options.get("trusted-proxy")):
        return None
    vhosts = options.get("vhost") or []
    if vhosts:
        from web2 import vhost as vhostModule

        hosts = vhostModule.NameVirtualHost(default=root)
        for spec in vhosts:
            host, sep, path = spec.partition("=")
            if not sep or not host or not path.startswith("/"):
                raise ConfigError(f"--vhost wants HOST=/MOUNTPATH, not {spec!r}")
            hosts.addHost(host, _SubTree(root, path))
        root = hosts
    trusted = options.get("trusted-proxy") or []
    if trusted:
        from web2.proxy import TrustedProxies, TrustedProxyResource

        fields = [f.strip() for f in str(options.get("trusted-proxy-fields") or "for,proto").split(",") if f.strip()]
        try:
            proxies = TrustedProxies(
                trusted,
                header=options.get("trusted-proxy-header") or "x-forwarded",
                fields=fields,
            )
        except ValueError as e:
            raise ConfigError(f"--trusted-proxy: {e}") from None
        root = TrustedProxyResource(root, proxies)
    return root


@implementer(IResource)
class _SubTree:
    """
    The part of a site below one path, as a root of its own (for --vhost).
    """

    def __init__(self, root, path):
        self.root = root
        self.segments = tuple(s for s in path.split("/") if s)

    def locateChild(self, request, segments):
        return self.root, self.segments + tuple(segments)

    def renderHTTP(self, request):
        return self.root


def web2_response_filters(config):
    options = getattr(config, "options", None) or {}
    if options.get("gzip"):
        from web2.filter.gzip import gzipfilter

        return [gzipfilter]
    return None
