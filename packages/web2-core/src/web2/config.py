# -*- test-case-name: test_config -*-
"""
The configuration of one web2 site, from the command line and/or a site
file (C{--config site.toml}).

A site file is TOML; every key is optional::

    listen = ["tcp:8080", "ssl:8443:privateKey=key.pem:certKey=cert.pem"]
    shutdown-timeout = 10.0
    workers = 4                # or "auto" (one per CPU); see web2.workers
    python-path = ["."]        # relative to this file's directory

    [access-log]
    path = "access.log"        # "-" for standard output; relative to this file
    format = "combined"        # combined, common, json (or a plugin's)

    [server]                   # limits and timeouts, as on the command line
    max-connections = 10000
    idle-timeout = 60.0
    max-body-size = 10485760

    [tls]                      # for ssl:PORT listeners naming no key
    cert = "fullchain.pem"     # relative to this file
    key = "key.pem"
    min-version = "1.2"        # or "1.3"
    [tls.sni."www.example.org"]
    cert = "www.pem"
    key = "www.key"

    [mounts]                   # path = "KIND:ARGUMENT", or a table
    "/" = "class:myproject.web.Root"
    "/old" = "redirect:/new"
    [mounts."/files"]
    kind = "static"
    argument = "public"        # paths are relative to this file's directory
    # any other key is an option of that mount, passed to its factory,
    # except auth: a password file guarding the mount (web2.auth)
    auth = { type = "basic", realm = "Files", htpasswd = "users.htpasswd" }

    [options]                  # plugins' options, by their long name
    greeting = "hello"

The command line overrides the file: C{--listen} replaces the file's
listeners, C{--mount} replaces a file mount at the same path and adds the
others, and every other option given replaces the file's value.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from web2.hookspecs import Option

__all__ = [
    "AuthSpec",
    "ConfigError",
    "MountSpec",
    "SERVER_SETTINGS",
    "ServerSetting",
    "SiteConfig",
    "buildSiteConfig",
    "importApplication",
    "loadConfigFile",
    "normalizeMountPath",
    "parseAuth",
    "parseMount",
    "resolvePath",
]

DEFAULT_LISTEN = "tcp:8080"
DEFAULT_SHUTDOWN_TIMEOUT = 10.0
DEFAULT_LOG_FORMAT = "combined"


class ConfigError(Exception):
    """
    The configuration is wrong.  The message says where and how, ready to be
    shown to an operator without a traceback.
    """


def _optionalInt(text) -> int | None:
    if isinstance(text, str) and text.strip().lower() in ("none", "unlimited"):
        return None
    value = int(text)
    if value < 0:
        raise ValueError(f"must not be negative, not {value}")
    return value


def _positiveFloat(text) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError(f"must be a positive number of seconds, not {text}")
    return value


def _rate(text) -> float:
    value = float(text)
    if not value >= 0:
        raise ValueError(f"must be a number of bytes per second, 0 or more, not {text}")
    return value


#: The largest value the kernel takes as a C int (setsockopt, listen).
_C_INT_MAX = 2**31 - 1


def _kernelInt(coerce):
    """
    C{coerce}, refusing values the kernel cannot take as a C int.
    """
    def coerceForKernel(text):
        value = coerce(text)
        if value is not None and value > _C_INT_MAX:
            raise ValueError(f"must be at most {_C_INT_MAX}, not {value}")
        return value
    return coerceForKernel


def workerCount(text) -> int:
    """
    The number of worker processes: a positive number, or C{auto} for one
    per CPU.
    """
    if isinstance(text, str) and text.strip().lower() == "auto":
        return os.cpu_count() or 1
    if isinstance(text, bool):
        raise ValueError(f"must be a positive number or 'auto', not {text!r}")
    value = int(text)
    if value <= 0:
        raise ValueError(f"must be a positive number or 'auto', not {text}")
    return value


def _count(text) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError(f"must be a positive number, not {value}")
    return value


@dataclass(frozen=True)
class ServerSetting:
    """
    One limit or timeout of the HTTP server, settable as C{--NAME} and as
    C{NAME} in the C{[server]} table.

    @ivar target: C{"factory"} for an argument of L{web2.channel.HTTPFactory},
        C{"limits"} for a field of its C{limits} (L{web2._wire.Limits}),
        C{"listen"} for a parameter of every listening endpoint.
    @ivar attribute: the argument or field name.
    """

    name: str
    target: str
    attribute: str
    coerce: Callable[[Any], Any]
    help: str


SERVER_SETTINGS: tuple[ServerSetting, ...] = (
    ServerSetting("max-connections", "factory", "maxConnections", _optionalInt,
                  "Most open connections; more get 503 ('none': no cap)."),
    ServerSetting("header-timeout", "factory", "headerTimeout", _positiveFloat,
                  "Seconds for a request head to arrive."),
    ServerSetting("body-timeout", "factory", "bodyTimeout", _positiveFloat,
                  "Seconds of silence allowed inside a request body."),
    ServerSetting("min-body-rate", "factory", "minBodyRate", _rate,
                  "Bytes per second a request body must average after "
                  "body-timeout seconds (408 below; 0: no minimum)."),
    ServerSetting("idle-timeout", "factory", "idleTimeout", _positiveFloat,
                  "Seconds a kept-alive connection may stay idle."),
    ServerSetting("send-timeout", "factory", "sendTimeout", _positiveFloat,
                  "Seconds a client may leave the response unread."),
    ServerSetting("max-unsent-bytes", "factory", "maxUnsentBytes", _count,
                  "Bytes of answers a client may leave unread before its "
                  "connection is answered and read no further (default 65536)."),
    ServerSetting("max-kernel-unsent-bytes", "factory", "maxKernelUnsentBytes",
                  _kernelInt(_optionalInt),
                  "Bytes not yet sent the kernel accepts from a connection "
                  "(Linux TCP_NOTSENT_LOWAT; default 131072; 0: the kernel's)."),
    ServerSetting("max-requests-per-turn", "factory", "maxRequestsPerTurn", _count,
                  "Pipelined requests a connection has answered in a row before "
                  "the other connections get a turn (default 16)."),
    ServerSetting("max-requests-per-round", "factory", "maxRequestsPerRound", _count,
                  "Pipelined requests beyond the first of each batch read that all "
                  "connections answer together per reactor iteration (default 128)."),
    ServerSetting("backlog", "listen", "backlog", _kernelInt(_count),
                  "Connections the kernel queues for accepting, per listener "
                  "(default 511, or net.core.somaxconn if lower)."),
    ServerSetting("max-request-line", "limits", "max_request_line", _count,
                  "Longest request line, in bytes (414 beyond)."),
    ServerSetting("max-header-bytes", "limits", "max_header_bytes", _count,
                  "Most bytes of request header fields (431 beyond)."),
    ServerSetting("max-header-count", "limits", "max_header_count", _count,
                  "Most request header fields (431 beyond)."),
    ServerSetting("max-body-size", "limits", "max_body_size", _optionalInt,
                  "Most bytes of one request body (413 beyond; 'none': no cap)."),
)
_SETTINGS_BY_NAME = {s.name: s for s in SERVER_SETTINGS}


@dataclass
class AuthSpec:
    """
    HTTP authentication guarding one mount with a password file: a
    mount's C{auth} table in a site file, or C{--auth}.

    @ivar type: C{"basic"} or C{"digest"}.
    @ivar realm: the realm users are shown (for Digest, also the realm of
        the file's lines that count).
    @ivar file: the password file: htpasswd for Basic, htdigest for Digest.
    @ivar source: where it was declared, for error messages.
    """

    path: str
    type: str
    realm: str
    file: str
    source: str = ""


def _authFromTable(table, path: str, where: str, base: str) -> AuthSpec:
    """
    A mount's C{auth} table: C{{type = "basic", realm = "...", htpasswd =
    "FILE"}} or C{{type = "digest", realm = "...", htdigest = "FILE"}}.
    """
    where = f"{where} auth"
    _expect(table, (dict,), where, 'a table such as {type = "basic", realm = "Private", '
            'htpasswd = "users.htpasswd"}')
    _checkKeys(table, ("type", "realm", "htpasswd", "htdigest"), where)
    kind = _expect(table.get("type", "basic"), (str,), f"{where} type", "a string")
    if kind not in ("basic", "digest"):
        raise ConfigError(f"{where}: type {kind!r} is not basic or digest")
    fileKey = "htpasswd" if kind == "basic" else "htdigest"
    other = "htdigest" if kind == "basic" else "htpasswd"
    if other in table:
        raise ConfigError(f"{where}: {kind} takes an {fileKey} file, not {other}")
    if fileKey not in table:
        raise ConfigError(f"{where}: missing key {fileKey!r} (the password file)")
    realm = _expect(table.get("realm", "web2"), (str,), f"{where} realm", "a string")
    file = _expect(table[fileKey], (str,), f"{where} {fileKey}", "a file name")
    if not realm or '"' in realm or "\\" in realm:
        raise ConfigError(f"{where}: the realm must be non-empty, without quotes or "
                          "backslashes")
    return AuthSpec(path, kind, realm, resolvePath(file, base), where)


def parseAuth(text: str, source: str | None = None) -> AuthSpec:
    """
    Parse C{--auth PATH=TYPE:REALM:FILE}, e.g.
    C{/private=basic:Staff only:/etc/web2/users.htpasswd}.

    @raise ConfigError: the text is malformed.
    """
    source = source or f"--auth {text}"
    path, sep, rest = text.partition("=")
    kind, _, rest = rest.partition(":")
    realm, _, file = rest.partition(":")
    if not sep or kind not in ("basic", "digest") or not realm or not file:
        raise ConfigError(f"{source}: expected PATH=basic:REALM:HTPASSWD-FILE or "
                          "PATH=digest:REALM:HTDIGEST-FILE")
    if '"' in realm or "\\" in realm:
        raise ConfigError(f"{source}: the realm must not hold quotes or backslashes")
    return AuthSpec(normalizeMountPath(path, source), kind, realm, file, source)


@dataclass
class MountSpec:
    """
    One mount: the resource of kind C{kind}, made from C{argument}, at
    C{path}.

    @ivar options: the mount's extra options (from a site file table).
    @ivar source: where it was declared, for error messages.
    @ivar base: the directory a relative file-system path in C{argument} is
        taken from (for kinds whose argument is a path, see
        L{web2.hookspecs.web2_mount_kinds}): the site file's directory for
        its mounts, C{""} (the working directory) for the command line's.
    @ivar auth: the L{AuthSpec} guarding it (a site file mount's C{auth}
        table), or C{None}.
    """

    path: str
    kind: str
    argument: str = ""
    options: dict = field(default_factory=dict)
    source: str = ""
    base: str = ""
    auth: AuthSpec | None = None


@dataclass
class SiteConfig:
    """
    Everything the host needs to build and run one site.

    @ivar listeners: endpoint strings (L{twisted.internet.endpoints}).
    @ivar mounts: the explicit L{MountSpec}s (plugins add theirs later).
    @ivar accessLog: the access-log file, C{"-"} for standard output, or
        C{None} for none.
    @ivar logFormat: the access-log format name.
    @ivar factoryOptions: keyword arguments for the HTTP factory.
    @ivar limits: keyword arguments for its wire limits.
    @ivar listenOptions: parameters for every listening endpoint that takes
        them (C{backlog}).
    @ivar shutdownTimeout: seconds the graceful stop may take.
    @ivar options: the plugins' option values, by option name.
    @ivar pythonPath: directories to add to C{sys.path} before mounting
        (absolute).
    @ivar configFile: the site file read, if any.
    @ivar pluginManager: the plugin manager of this process.
    @ivar workers: the number of worker processes (L{web2.workers}), or
        C{None} for one process that serves itself.
    @ivar tls: the site file's C{[tls]} table (C{cert}, C{key} and the
        C{sni} files made absolute; see L{web2.tlsoptions}).
    """

    listeners: list[str] = field(default_factory=lambda: [DEFAULT_LISTEN])
    mounts: list[MountSpec] = field(default_factory=list)
    accessLog: str | None = None
    logFormat: str = DEFAULT_LOG_FORMAT
    factoryOptions: dict = field(default_factory=dict)
    limits: dict = field(default_factory=dict)
    listenOptions: dict = field(default_factory=dict)
    shutdownTimeout: float = DEFAULT_SHUTDOWN_TIMEOUT
    options: dict = field(default_factory=dict)
    pythonPath: list[str] = field(default_factory=list)
    configFile: str | None = None
    pluginManager: Any = None
    workers: int | None = None
    tls: dict = field(default_factory=dict)

    def get(self, name: str, default=None):
        """
        @return: the value of the plugin option C{name}, or C{default}.
        """
        return self.options.get(name, default)


def resolvePath(path: str, base: str) -> str:
    """
    A file-system path from a site file, made absolute against C{base}
    (the file's directory) unless it is absolute or starts with C{~}.
    """
    if not path or not base or os.path.isabs(path) or path.startswith("~"):
        return path
    return os.path.normpath(os.path.join(base, path))


def normalizeMountPath(path: str, where: str) -> str:
    """
    Check a mount path and give its canonical spelling (no trailing slash
    except for C{/}).

    @raise ConfigError: it does not start with C{/} or has an empty segment.
    """
    if not isinstance(path, str) or not path.startswith("/"):
        raise ConfigError(f"{where}: mount path {path!r} must start with '/'")
    trimmed = path.rstrip("/")
    if "//" in trimmed or any(s in (".", "..") for s in trimmed.split("/")[1:]):
        raise ConfigError(f"{where}: mount path {path!r} has an empty, '.' or '..' segment")
    return trimmed or "/"


def parseMount(text: str, source: str | None = None) -> MountSpec:
    """
    Parse C{PATH=KIND:ARGUMENT} (the argument may be empty, and the colon
    left out with it).

    @raise ConfigError: the text has no C{=} or no kind.
    """
    source = source or f"--mount {text}"
    path, sep, rest = text.partition("=")
    kind, _, argument = rest.partition(":")
    if not sep or not kind.strip():
        raise ConfigError(f"{source}: expected PATH=KIND:ARGUMENT, e.g. /=static:./public")
    return MountSpec(normalizeMountPath(path, source), kind.strip(), argument, {}, source)


def loadConfigFile(path: str) -> dict:
    """
    Read a site file.

    @return: its TOML data, not yet checked.
    @raise ConfigError: it cannot be read or is not valid TOML.
    """
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path!r} does not exist") from None
    except OSError as e:
        raise ConfigError(f"config file {path!r} cannot be read: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {path!r} is not valid TOML: {e}") from None


def _typeName(value) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "a boolean",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


def _expect(value, types, where: str, what: str):
    if isinstance(value, bool) and bool not in types:
        ok = False
    else:
        ok = isinstance(value, types)
    if not ok:
        raise ConfigError(f"{where}: expected {what}, got {_typeName(value)} {value!r}")
    return value


def _checkKeys(table: Mapping, known, where: str) -> None:
    for key in table:
        if key not in known:
            raise ConfigError(
                f"{where}: unknown key {key!r} (known keys: {', '.join(sorted(known))})"
            )


def _coerceSetting(setting: ServerSetting, value, where: str):
    try:
        return setting.coerce(value)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{where}: {setting.name}: {e}") from None


def _fileMounts(table, where: str, base: str = "") -> list[MountSpec]:
    _expect(table, (dict,), where, "a table of PATH = \"KIND:ARGUMENT\"")
    mounts = []
    for path, value in table.items():
        here = f"{where} {path!r}"
        if isinstance(value, str):
            spec = parseMount(f"{path}={value}", here)
        else:
            _expect(value, (dict,), here, 'a string "KIND:ARGUMENT" or a table')
            if "kind" not in value:
                raise ConfigError(f"{here}: missing key 'kind'")
            kind = _expect(value["kind"], (str,), f"{here} kind", "a string")
            argument = _expect(value.get("argument", ""), (str,), f"{here} argument",
                               "a string")
            extra = {k: v for k, v in value.items() if k not in ("kind", "argument", "auth")}
            spec = MountSpec(normalizeMountPath(path, here), kind, argument, extra, here)
            if "auth" in value:
                spec.auth = _authFromTable(value["auth"], spec.path, here, base)
        spec.base = base
        mounts.append(spec)
    _checkDuplicates(mounts)
    return mounts


def _checkDuplicates(mounts: list[MountSpec]) -> None:
    seen: dict[str, MountSpec] = {}
    for spec in mounts:
        if spec.path in seen:
            raise ConfigError(
                f"two mounts at the same path {spec.path!r}: "
                f"{seen[spec.path].source} and {spec.source}"
            )
        seen[spec.path] = spec


def _pluginOptionValue(option: Option, value, where: str):
    if option.flag:
        return _expect(value, (bool,), where, "true or false")
    if option.multiple:
        values = value if isinstance(value, list) else [value]
        return [_coerceOne(option, v, where) for v in values]
    return _coerceOne(option, value, where)


def _coerceOne(option: Option, value, where: str):
    if isinstance(value, str) and option.coerce is not None:
        try:
            return option.coerce(value)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{where}: {e}") from None
    return value


_FILE_KEYS = ("listen", "python-path", "shutdown-timeout", "workers", "access-log", "server",
              "mounts", "options", "tls")
_TLS_KEYS = ("cert", "key", "min-version", "ciphers", "sni")


def buildSiteConfig(
    cli: Mapping[str, Any],
    *,
    fileData: Mapping | None = None,
    fileName: str = "config file",
    pluginOptions: Mapping[str, Option] = {},
    logFormats=(DEFAULT_LOG_FORMAT, "common", "json"),
) -> SiteConfig:
    """
    Merge the command line over a site file into one L{SiteConfig}.

    @param cli: the parsed command line: C{listen}, C{mount} and
        C{python-path} (lists),
        C{access-log}, C{log-format}, C{shutdown-timeout}, the names of
        L{SERVER_SETTINGS} and of the plugin options; a value of C{None}
        (C{False} for a flag, an empty list for a repeatable option) means
        "not given".
    @param fileData: the site file's data (L{loadConfigFile}), if any.
    @param pluginOptions: every plugin's L{Option}, by name.
    @param logFormats: the known access-log format names.
    @raise ConfigError: something is wrong; the message says what.
    """
    data = dict(fileData or {})
    _checkKeys(data, _FILE_KEYS, fileName)
    config = SiteConfig(configFile=None if fileData is None else fileName)

    listen = data.get("listen")
    if listen is not None:
        if isinstance(listen, str):
            listen = [listen]
        _expect(listen, (list,), f"{fileName}: listen", "a list of endpoint strings")
        for item in listen:
            _expect(item, (str,), f"{fileName}: listen", "endpoint strings")
        config.listeners = list(listen)
    if cli.get("listen"):
        config.listeners = list(cli["listen"])
    if not config.listeners:
        raise ConfigError(f"{fileName}: listen: at least one endpoint is needed")

    pythonPath = data.get("python-path", [])
    if isinstance(pythonPath, str):
        pythonPath = [pythonPath]
    _expect(pythonPath, (list,), f"{fileName}: python-path", "a list of directories")
    base = os.path.dirname(os.path.abspath(fileName)) if fileData is not None else "."
    for item in pythonPath:
        _expect(item, (str,), f"{fileName}: python-path", "directories (strings)")
        config.pythonPath.append(os.path.normpath(os.path.join(base, item)))
    config.pythonPath += [os.path.abspath(p) for p in cli.get("python-path") or ()]

    if "shutdown-timeout" in data:
        value = _expect(data["shutdown-timeout"], (int, float),
                        f"{fileName}: shutdown-timeout", "a number of seconds")
        config.shutdownTimeout = _coerceSetting(
            ServerSetting("shutdown-timeout", "", "", _positiveFloat, ""), value, fileName)
    if cli.get("shutdown-timeout") is not None:
        config.shutdownTimeout = float(cli["shutdown-timeout"])
    if "workers" in data:
        try:
            config.workers = workerCount(data["workers"])
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{fileName}: workers: {e}") from None
    if cli.get("workers") is not None:
        config.workers = cli["workers"]

    tls = data.get("tls", {})
    where = f"{fileName}: [tls]"
    _expect(tls, (dict,), where, "a table with keys " + ", ".join(_TLS_KEYS))
    _checkKeys(tls, _TLS_KEYS, where)
    for key in ("cert", "key", "min-version", "ciphers"):
        if key in tls:
            value = _expect(tls[key], (str,), f"{where} {key}", "a string")
            config.tls[key] = resolvePath(value, base) if key in ("cert", "key") else value
    sni = tls.get("sni", {})
    _expect(sni, (dict,), f"{where} sni", 'a table of HOST = {cert = "...", key = "..."}')
    config.tls["sni"] = []
    for host, files in sni.items():
        here = f"{where} sni {host!r}"
        _expect(files, (dict,), here, 'a table {cert = "...", key = "..."}')
        _checkKeys(files, ("cert", "key"), here)
        if "cert" not in files or "key" not in files:
            raise ConfigError(f"{here}: needs both cert and key")
        config.tls["sni"].append((host.lower(),
                                   resolvePath(_expect(files["cert"], (str,), here, "a path"), base),
                                   resolvePath(_expect(files["key"], (str,), here, "a path"), base)))

    accessLog = data.get("access-log", {})
    where = f"{fileName}: [access-log]"
    _expect(accessLog, (dict,), where, "a table with keys path and format")
    _checkKeys(accessLog, ("path", "format"), where)
    fileLog = (_expect(accessLog["path"], (str,), f"{where} path", "a string")
               if "path" in accessLog else None)
    if fileLog not in (None, "-", "off"):
        # Like every path in a site file: relative to the file.
        fileLog = resolvePath(fileLog, base)
    config.accessLog = cli.get("access-log") or fileLog
    logFormat = cli.get("log-format") or (
        _expect(accessLog["format"], (str,), f"{where} format", "a string")
        if "format" in accessLog else DEFAULT_LOG_FORMAT)
    if logFormat not in logFormats:
        raise ConfigError(
            f"unknown access-log format {logFormat!r} "
            f"(known formats: {', '.join(sorted(logFormats))})")
    config.logFormat = logFormat

    server = data.get("server", {})
    where = f"{fileName}: [server]"
    _expect(server, (dict,), where, "a table of limits and timeouts")
    _checkKeys(server, _SETTINGS_BY_NAME, where)
    for setting in SERVER_SETTINGS:
        if cli.get(setting.name) is not None:
            value = cli[setting.name]
        elif setting.name in server:
            value = _coerceSetting(setting, server[setting.name], where)
        else:
            continue
        targets = {"factory": config.factoryOptions, "limits": config.limits,
                   "listen": config.listenOptions}
        targets[setting.target][setting.attribute] = value

    mounts = _fileMounts(data.get("mounts", {}), f"{fileName}: [mounts]", base)
    cliMounts = [m if isinstance(m, MountSpec) else parseMount(m)
                 for m in cli.get("mount") or ()]
    _checkDuplicates(cliMounts)
    overridden = {m.path for m in cliMounts}
    config.mounts = [m for m in mounts if m.path not in overridden] + cliMounts

    options = data.get("options", {})
    where = f"{fileName}: [options]"
    _expect(options, (dict,), where, "a table of plugin options")
    _checkKeys(options, pluginOptions, where)
    for name, option in pluginOptions.items():
        given = cli.get(name)
        if option.multiple:
            fromFile = (_pluginOptionValue(option, options[name], f"{where} {name}")
                        if name in options else [])
            value = fromFile + list(given or [])
            if not value and option.default is not None:
                value = list(option.default)
        elif given is not None and not (option.flag and not given):
            value = bool(given) if option.flag else given
        elif name in options:
            value = _pluginOptionValue(option, options[name], f"{where} {name}")
        else:
            value = option.default if not option.flag else bool(option.default)
        config.options[name] = value
    return config


_DOTTED_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*(\(\))?")


def importApplication(spec: str, defaultName: str, kind: str, placeholder: str = "NAME"):
    """
    Import the application named by C{spec}, C{MODULE[:NAME]}, where NAME
    is a dotted attribute path or a factory call C{NAME()}, for the gateway
    plugins' C{--wsgi}/C{--asgi} options and mount kinds.

    The current directory is searched last, as other application servers
    do, so that C{app:app} finds C{./app.py}.

    @param defaultName: NAME when C{spec} gives none.
    @param kind: what the application must be, for messages (C{"WSGI"}).
    @param placeholder: how messages call NAME (C{"APP"} for ASGI's habit).
    @raise ValueError: the module or the name cannot be found, or is not
        callable; the message says which.
    """
    moduleName, _, name = spec.strip().partition(":")
    name = name or defaultName
    if (not moduleName or _DOTTED_NAME.fullmatch(moduleName) is None
            or moduleName.endswith("()")):
        raise ValueError(f"expected MODULE:{placeholder}, e.g. "
                         f"myproject.{kind.lower()}:application, not {spec!r}")
    if _DOTTED_NAME.fullmatch(name) is None:
        raise ValueError(f"{name!r} is not a name or a factory call NAME()")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.append(os.getcwd())
    try:
        module = importlib.import_module(moduleName)
    except ImportError as e:
        raise ValueError(f"cannot import {moduleName!r}: {e}") from None
    obj = module
    for part in name.removesuffix("()").split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"module {moduleName!r} has no {name.removesuffix('()')!r}"
                             ) from None
    if name.endswith("()"):
        obj = obj()
    if not callable(obj):
        article = "an" if kind[:1] in "AEIOU" else "a"
        raise ValueError(f"{spec} is a {type(obj).__name__}, not {article} {kind} application")
    return obj
