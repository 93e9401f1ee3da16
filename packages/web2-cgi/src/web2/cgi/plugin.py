# -*- test-case-name: test_cgi_plugin -*-
"""
web2-cgi's plugin: what it contributes to the web2 plugin host.

Options:

  - C{--scgi ENDPOINT}, C{--fastcgi ENDPOINT} (repeatable): also serve the
    site over SCGI or FastCGI on these endpoints (e.g.
    C{tcp:9000:interface=127.0.0.1} or C{unix:/run/web2.sock}), for a
    front end such as nginx; never expose them to clients directly;
  - C{--gateway-prefix PREFIX}: the URL prefix the front end serves the
    site under, when its SCRIPT_NAME/PATH_INFO do not say so (nginx's stock
    C{fastcgi_params} put the whole path in SCRIPT_NAME: give
    C{--gateway-prefix ""} for a site at the root);
  - C{--cgi-dir [URLPATH=]DIR} (repeatable): serve the executables of
    C{DIR} as CGI scripts at C{URLPATH} (default C{/cgi-bin});
  - C{--cgi-timeout SECONDS} (default 60), C{--cgi-pass-auth},
    C{--cgi-env NAME=VALUE} (repeatable): defaults of every CGI mount.

Mount kinds: C{cgi:DIR} (a L{web2.cgi.CGIDirectory}) and
C{cgi-script:FILE} (a L{web2.cgi.CGIScript}, or a
L{web2.cgi.FilteredScript} with the mount option C{interpreter}).  Mount
options in a site file: C{timeout}, C{pass-authorization}, C{env} (a
table), C{path} (the scripts' PATH) and, for C{cgi-script},
C{interpreter} (a name or a list)::

    [mounts."/wiki"]
    kind = "cgi-script"
    argument = "/srv/wiki/index.php"
    interpreter = ["php-cgi"]
    timeout = 30
"""

from __future__ import annotations

import os

from twisted.application.internet import StreamServerEndpointService
from twisted.logger import Logger

from web2.cgi.fastcgi import FastCGIFactory
from web2.cgi.scgi import SCGIFactory
from web2.cgi.script import CGIDirectory, CGIScript, FilteredScript
from web2.config import ConfigError
from web2.hookspecs import Option

log = Logger(namespace="web2.cgi")

#: Where C{--cgi-dir DIR} mounts when no URL path is given.
DEFAULT_CGI_PATH = "/cgi-bin"


def _positiveFloat(text) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError(f"must be positive, not {text}")
    return value


def _envOption(text: str):
    name, sep, value = text.partition("=")
    if not sep or not name or "\0" in text:
        raise ValueError(f"expected NAME=VALUE, not {text!r}")
    return name, value


def _cgiDirOption(text: str):
    path, sep, directory = text.partition("=")
    if not sep:
        return DEFAULT_CGI_PATH, text
    if not path.startswith("/"):
        raise ValueError(f"expected [URLPATH=]DIR with URLPATH starting with /, not {text!r}")
    return path, directory


_OPTIONS = [
    Option("scgi", multiple=True,
           help="Also serve the site over SCGI on this endpoint (for a front end)."),
    Option("fastcgi", multiple=True,
           help="Also serve the site over FastCGI on this endpoint (for a front end)."),
    Option("gateway-prefix",
           help="The URL prefix the front end serves the site under (SCGI/FastCGI), "
                "instead of SCRIPT_NAME/PATH_INFO."),
    Option("cgi-dir", multiple=True, coerce=_cgiDirOption,
           help="Serve the executables of DIR as CGI scripts: [URLPATH=]DIR "
                "(URLPATH defaults to /cgi-bin)."),
    Option("cgi-timeout", default=60.0, coerce=_positiveFloat,
           help="Seconds a CGI script may take to answer or stay silent (default 60)."),
    Option("cgi-pass-auth", flag=True,
           help="Give CGI scripts the Authorization header (HTTP_AUTHORIZATION)."),
    Option("cgi-env", multiple=True, coerce=_envOption,
           help="An environment variable for every CGI script: NAME=VALUE."),
]


def web2_options():
    return list(_OPTIONS)


def _get(config, name, default=None):
    if config is None:
        return default
    value = config.get(name, default)
    return default if value is None else value


def _pairs(value):
    if isinstance(value, dict):
        return list(value.items())
    return [_envOption(v) if isinstance(v, str) else tuple(v) for v in value or ()]


# Mount option (dashes or underscores) -> CGIScript keyword.
_MOUNT_OPTIONS = {
    "timeout": "timeout",
    "pass-authorization": "passAuthorization",
    "env": "env",
    "path": "path",
}


def _scriptOptions(config, options, extra=()) -> dict:
    settings = {
        "timeout": float(_get(config, "cgi-timeout", 60.0)),
        "passAuthorization": bool(_get(config, "cgi-pass-auth", False)),
        "env": dict(_pairs(_get(config, "cgi-env", []))),
    }
    for key, value in options.items():
        name = _MOUNT_OPTIONS.get(key.replace("_", "-"))
        if name is None and key.replace("_", "-") not in extra:
            known = ", ".join(sorted(set(_MOUNT_OPTIONS) | set(extra)))
            raise ValueError(f"unknown CGI mount option {key!r} (known: {known})")
        if name == "env":
            value = {**settings["env"], **dict(_pairs(value))}
        elif name == "timeout":
            value = _positiveFloat(value)
        elif name == "passAuthorization":
            value = bool(value)
        if name is not None:
            settings[name] = value
    return settings


def makeCGIDirectory(directory: str, config=None, **options) -> CGIDirectory:
    """
    The L{CGIDirectory} of a C{cgi:DIR} mount.

    @raise ValueError: the directory does not exist, or an option is wrong.
    """
    if not directory:
        raise ValueError("cgi: needs a directory, e.g. cgi:/srv/cgi-bin")
    directory = os.path.abspath(os.path.expanduser(directory))
    if not os.path.isdir(directory):
        raise ValueError(f"{directory} is not a directory")
    return CGIDirectory(directory, **_scriptOptions(config, options))


makeCGIDirectory.pathArgument = True


def makeCGIScript(filename: str, config=None, **options) -> CGIScript:
    """
    The resource of a C{cgi-script:FILE} mount.

    @raise ValueError: the file does not exist or cannot run, or an option
        is wrong.
    """
    if not filename:
        raise ValueError("cgi-script: needs a file, e.g. cgi-script:/srv/app.cgi")
    filename = os.path.abspath(os.path.expanduser(filename))
    if not os.path.isfile(filename):
        raise ValueError(f"{filename} is not a file")
    interpreter = options.pop("interpreter", None)
    settings = _scriptOptions(config, options)
    if interpreter:
        return FilteredScript(filename, interpreter, **settings)
    if not os.access(filename, os.X_OK):
        raise ValueError(f"{filename} is not executable (or give an interpreter)")
    return CGIScript(filename, **settings)


makeCGIScript.pathArgument = True


def web2_mount_kinds():
    return {
        "cgi": makeCGIDirectory,
        "cgi-script": makeCGIScript,
    }


def web2_mounts(config):
    return [(path, makeCGIDirectory(directory, config))
            for path, directory in _get(config, "cgi-dir", [])]


class GatewayListener(StreamServerEndpointService):
    """
    One SCGI or FastCGI endpoint.  Binding fails loudly at start.

    @ivar port: the listening port, once bound.
    """

    _raiseSynchronously = True
    port = None

    def __init__(self, kind, description, endpoint, factory):
        StreamServerEndpointService.__init__(self, endpoint, factory)
        self.kind = kind
        self.description = description

    def privilegedStartService(self):
        StreamServerEndpointService.privilegedStartService(self)
        self._waitingForPort.addCallback(self._listening)

    def whenListening(self):
        """
        @return: a Deferred firing with the listening port once bound
            (without consuming the service's own Deferred).
        """
        from twisted.internet import defer

        d = defer.Deferred()

        def tee(port):
            d.callback(port)
            return port

        self._waitingForPort.addCallback(tee)
        return d

    def _listening(self, port):
        self.port = port
        where = port.getHost()
        log.info("web2 {kind} gateway listening on {where} ({description})",
                 kind=self.kind, where=getattr(where, "port", where),
                 description=self.description)
        return port


_FACTORIES = {"scgi": ("SCGI", SCGIFactory), "fastcgi": ("FastCGI", FastCGIFactory)}


def web2_services(config, site):
    from twisted.internet import endpoints, reactor

    prefix = _get(config, "gateway-prefix")
    services = []
    for option, (kind, factoryClass) in _FACTORIES.items():
        for description in _get(config, option, []):
            try:
                endpoint = endpoints.serverFromString(reactor, description)
            except Exception as e:
                raise ConfigError(f"--{option}: bad endpoint {description!r}: "
                                  f"{type(e).__name__}: {e}") from None
            factory = factoryClass(site, scriptName=prefix)
            services.append(GatewayListener(kind, description, endpoint, factory))
    return services
