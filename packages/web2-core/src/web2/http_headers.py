# -*- test-case-name: test_http_headers -*-
"""
HTTP headers with typed values, parsed lazily on read and generated on
write.

L{Headers} keeps each header in two forms, the raw field lines (C{str},
decoded as latin-1) and the parsed Python value, and computes whichever is
missing only when asked:

  - L{Headers.fromWire} stores the parser's C{(bytes, bytes)} pairs as they
    are; a header's values are decoded the first time it is read, and
    headers nobody reads are never decoded (a proxy passes them on as
    bytes).
  - C{getHeader} parses the raw lines with the parser registered for the
    name in a L{HeaderHandler} and caches the result; C{setHeader} stores
    a parsed value and the raw lines are generated when next needed.
  - Raw values set by hand are checked for CR, LF and NUL (response
    splitting), generated ones too; a value that cannot be generated
    raises C{ValueError} (at C{toWire} at the latest).

Header names are case-insensitive C{str}; on the wire they are written in
their canonical spelling (L{canonicalNameCaps}).

Parsed forms of the registered headers (a header with no parser is read
back as its raw C{list} of C{str}).  Token lists are lower-cased unless
noted; "epoch" is C{int} seconds since 1970; singleton headers refuse
several differing lines.

  Accept                  {MimeType: q float} (accept-ext dropped)
  Accept-Charset/-Encoding/-Language, TE
                          {value.lower(): q float} (no implied defaults)
  Accept-Ranges, Connection, Content-Encoding, Content-Language,
  Transfer-Encoding, Trailer, Vary
                          [token, ...]
  Allow, Upgrade, DAV     [str, ...] case kept (Upgrade "name/version")
  Age                     int, delta-seconds capped at 2**31
  Authorization, Proxy-Authorization
                          (scheme.lower(), token68 str | {param: str} | "")
  WWW-Authenticate, Proxy-Authenticate
                          [(scheme, token68 str | {param: str}), ...]
  Cache-Control           {directive: None | int | [field, ...] | str}:
                          ints for max-age, s-maxage, min-fresh, max-stale
                          (None when bare), stale-*; lists for private and
                          no-cache with field names; first occurrence wins
  Pragma, Expect          {directive: None | str}
  Content-Disposition     MimeDisposition (filename* decoded into filename)
  Content-Length, Max-Forwards
                          int (ASCII digits only; "42, 42" is 42)
  Content-Location, Location, Referer, Destination, From, Server,
  User-Agent              str (URIs generated percent-encoded)
  Content-MD5             bytes
  Content-Range           ("bytes", start, end, total | None) or
                          ("bytes", None, None, total) for "bytes */N"
  Content-Type            MimeType
  Cookie                  [Cookie(name, value), ...]
  Set-Cookie              [Cookie, ...] (one line per cookie)
  Date, Last-Modified, If-Modified-Since, If-Unmodified-Since
                          epoch
  Expires                 epoch; an invalid date gives 0 (RFC 9111 5.3)
  ETag                    ETag
  If-Match, If-None-Match ["*"] or [ETag, ...]
  If-Range                ETag or epoch
  Forwarded               [{"for": str, "by":..., "proto":..., "host":...}]
  X-Forwarded-For         [str, ...]
  Host                    str, checked against uri-host [":" port]
  Link                    [(uri, {param: str | None}), ...]
  Prefer                  [(name, value | None, {param: value}), ...]
  Range                   ("bytes", [(start | None, end | None), ...]);
                          other units raise HeaderParseError (a server
                          then ignores the header, RFC 9110 14.2)
  Retry-After             int delay in seconds (a date becomes the delay
                          from now); generated as delay-seconds
  Via                     [(protocol, receivedBy, comment | None), ...]
  Warning                 [(code, agent, text, epoch | None), ...]
  Depth                   "0" | "1" | "infinity"
  Overwrite               bool
  Lock-Token              str (the Coded-URL without <>)
  Timeout                 ["Infinite" | int seconds, ...]
  If                      [(resourceTag | None, [[IfCondition, ...], ...])]
"""

import re

from web2 import _headers_auth, _headers_dav, _headers_ext, _headers_standard
from web2._headers_dav import IfCondition
from web2._headers_ext import Cookie, MimeDisposition
from web2._headers_standard import parseComment
from web2._headers_tokens import (
    TOKEN,
    HeaderParseError,
    Scanner,
    canonicalNameCaps,
    checkText,
    decodeExtValue,
    encodeExtValue,
    generateParams,
    isToken,
    parseKeyValue,
    parseList,
    parseParams,
    quoteIfNeeded,
    quoteString,
    single,
)
from web2._headers_values import (
    ETag,
    MimeType,
    _bareTypes,
    generateDateTime,
    parseDateTime,
)

__all__ = [
    "Cookie",
    "DefaultHTTPHandler",
    "ETag",
    "HeaderHandler",
    "HeaderParseError",
    "Headers",
    "IfCondition",
    "MimeDisposition",
    "MimeType",
    "Scanner",
    "canonicalNameCaps",
    "checkText",
    "decodeExtValue",
    "encodeExtValue",
    "generateDateTime",
    "generateParams",
    "isToken",
    "parseComment",
    "parseDateTime",
    "parseKeyValue",
    "parseList",
    "parseParams",
    "quoteIfNeeded",
    "quoteString",
    "single",
]


class HeaderHandler:
    """
    The parsers and generators for header values, keyed by lower-cased
    header name.  Each instance owns its tables, so a plugin can extend
    L{DefaultHTTPHandler} or build a private handler without touching
    any other.

    A parser takes the C{list} of raw field lines and returns the parsed
    value, raising C{ValueError} when the value is malformed.  A generator
    takes the parsed value and returns a C{list} of field lines (C{str}),
    each written as its own header line.

    @ivar parsers: C{dict} of lower-cased name to parser.
    @ivar generators: C{dict} of lower-cased name to generator.
    """

    def __init__(self, parsers=None, generators=None):
        self.parsers = {}
        self.generators = {}
        self._spellings = {}
        self._wireNames = {}
        self._prefixes = {}
        self.update(parsers or {}, generators or {})

    def wireName(self, lower: str) -> bytes:
        """
        The canonical spelling of the lower-cased name C{lower}, encoded
        for the wire; remembered, since the same few names are written on
        every response.
        """
        wire = self._wireNames.get(lower)
        if wire is None:
            wire = self.canonicalName(lower).encode("latin-1")
            if len(self._wireNames) < 4096:
                self._wireNames[lower] = wire
        return wire

    def wirePrefix(self, lower: str) -> str:
        """
        C{"Canonical-Name: "} for the lower-cased name C{lower}, remembered
        like L{wireName}.
        """
        prefix = self._prefixes.get(lower)
        if prefix is None:
            prefix = self.canonicalName(lower) + ": "
            if len(self._prefixes) < 4096:
                self._prefixes[lower] = prefix
        return prefix

    def _remember(self, name: str) -> str:
        lower = name.lower()
        self._wireNames.pop(lower, None)
        self._prefixes.pop(lower, None)
        if name != lower and name != canonicalNameCaps(lower):
            self._spellings[lower] = name
        return lower

    def addParser(self, name: str, parser) -> None:
        """
        Register the parser of header C{name}.  A mixed-case C{name} whose
        spelling is irregular (C{DAV}, C{ETag}) also becomes the spelling
        written on the wire.
        """
        self.parsers[self._remember(name)] = parser

    def addGenerator(self, name: str, generator) -> None:
        """
        Register the generator of header C{name} (see L{addParser}).
        """
        self.generators[self._remember(name)] = generator

    def updateParsers(self, parsers) -> None:
        for name, parser in parsers.items():
            self.addParser(name, parser)

    def updateGenerators(self, generators) -> None:
        for name, generator in generators.items():
            self.addGenerator(name, generator)

    def update(self, parsers, generators) -> None:
        """
        Register several parsers and generators at once (C{dict}s keyed by
        header name).
        """
        self.updateParsers(parsers)
        self.updateGenerators(generators)

    def copy(self) -> "HeaderHandler":
        """
        An independent handler with the same tables.
        """
        new = HeaderHandler()
        new.parsers = dict(self.parsers)
        new.generators = dict(self.generators)
        new._spellings = dict(self._spellings)
        return new

    def canonicalName(self, name: str) -> str:
        """
        The wire spelling of C{name}: a registered irregular spelling, or
        L{canonicalNameCaps}.
        """
        lower = name.lower()
        return self._spellings.get(lower) or canonicalNameCaps(lower)

    def parse(self, name: str, rawValues):
        """
        Parse C{rawValues} of header C{name}.

        @raise KeyError: no parser is registered for C{name}.
        @raise HeaderParseError: the value is malformed.
        """
        parser = self.parsers[name.lower()]
        try:
            return parser(rawValues)
        except HeaderParseError:
            raise
        except ValueError as e:
            raise HeaderParseError(
                self.canonicalName(name), rawValues, str(e)
            ) from None

    def generate(self, name: str, value):
        """
        Generate the field lines of header C{name} from its parsed C{value}.

        @raise KeyError: no generator is registered for C{name}.
        @raise ValueError: C{value} cannot be generated, or would contain
            CR, LF or NUL.
        """
        generator = self.generators[name.lower()]
        if (
            generator is _generateContentType
            and type(value) is MimeType
            and not value.params
        ):
            # The typed Content-Type of a render method (C{MimeType("text",
            # "html")}, made afresh for every response): its text is the one
            # L{MimeType.__str__} checked (tokens only) and kept the first
            # time, so this response needs neither the generator nor a check.
            text = _bareTypes.get((value.mediaType, value.mediaSubtype))
            if text is not None:
                return [text]
        try:
            lines = generator(value)
        except (TypeError, AttributeError) as e:
            raise ValueError(
                f"cannot generate {self.canonicalName(name)} from {value!r}: {e}"
            ) from e
        for line in lines:
            if type(line) is not str or not (
                line.isascii() and _unsafeSearch(line) is None
            ):
                _checkRawValue(self.canonicalName(name), line)
        return lines


_generateContentType = _headers_standard.GENERATORS["Content-Type"]
DefaultHTTPHandler = HeaderHandler()
for _module in (_headers_standard, _headers_auth, _headers_ext, _headers_dav):
    DefaultHTTPHandler.update(_module.PARSERS, _module.GENERATORS)
del _module


# Characters no field value may hold (RFC 9110 5.5): every CTL but HTAB.
# CR, LF and NUL would split or truncate the response; the others are
# refused too, so the wire writer can trust what a Headers gives it.
_UNSAFE = frozenset(chr(c) for c in range(32) if c != 9) | {"\x7f"}
_unsafeSearch = re.compile("[\x00-\x08\x0a-\x1f\x7f]").search


def _checkRawValue(name, value) -> None:
    """
    Refuse a raw value that could split the response or that latin-1
    cannot carry.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} header values must be str, not {type(value).__name__}")
    if _unsafeSearch(value) is not None:
        raise ValueError(f"a control character (CR, LF, NUL...) in the value of the {name} header")
    if not value.isascii():
        value.encode("latin-1")  # UnicodeEncodeError is a ValueError


_checkedNames: dict[str, str] = {}


def _checkName(name) -> str:
    lower = _checkedNames.get(name)
    if lower is not None:
        return lower
    if not isinstance(name, str) or TOKEN.fullmatch(name) is None:
        raise ValueError(f"invalid header name {name!r}")
    lower = name.lower()
    if len(_checkedNames) < 4096:
        _checkedNames[name] = lower
    return lower


class _WireValues(list):
    """
    Field lines still as the wire parser gave them: C{bytes}, undecoded.
    """

    __slots__ = ()


_wireKeys: dict[str, bytes] = {}
_wireKeySets: dict = {}


def _wireKey(lower: str) -> bytes:
    """
    A lower-cased name as the wire parser gives it, to search headers still
    in wire form without decoding them.
    """
    key = _wireKeys.get(lower)
    if key is None:
        key = lower.encode("latin-1", "replace")
        if len(_wireKeys) < 4096:
            _wireKeys[lower] = key
    return key


# The raw form of a header set through setHeader, still to be generated.
_RECALC = object()
_MISSING = object()


class Headers:
    """
    The header fields of a request or a response.  See the module
    docstring for the lazy two-form model.

    Values returned by L{getHeader} are shared with the container: treat
    them as read-only and call L{setHeader} to change a header.
    """

    __slots__ = ("_wire", "_raw", "_parsed", "handler", "_immutable")

    def __init__(self, headers=None, rawHeaders=None, handler=DefaultHTTPHandler):
        """
        @param headers: C{{name: parsedValue}} to set with L{setHeader}.
        @param rawHeaders: C{{name: [str, ...]}} to set with
            L{setRawHeaders}.
        @param handler: the L{HeaderHandler} giving parsers and generators.
        """
        self._wire = None
        self._raw = {}
        self._parsed = {}
        self.handler = handler
        self._immutable = False
        if rawHeaders:
            for name, values in rawHeaders.items():
                self.setRawHeaders(name, values)
        if headers:
            if type(self) is Headers:
                # setHeader's work for the usual C{{"content-type":
                # MimeType(...)}} of a response, in line: a name seen (and
                # checked) before that has a generator.
                raw = self._raw
                parsed = self._parsed
                generators = handler.generators
                for name, value in headers.items():
                    lower = _checkedNames.get(name)
                    if lower is not None and lower in generators:
                        raw[lower] = _RECALC
                        parsed[lower] = value
                    else:
                        self.setHeader(name, value)
            else:
                for name, value in headers.items():
                    self.setHeader(name, value)

    @classmethod
    def fromWire(cls, pairs, handler=DefaultHTTPHandler) -> "Headers":
        """
        Wrap the header pairs of the wire parser without looking at them.

        @param pairs: a C{list} of C{(name, value)} C{bytes} pairs, names
            already lower-cased, values stripped and free of CR/LF/NUL.
        """
        self = cls.__new__(cls)
        self._wire = pairs
        self._raw = None
        self._parsed = {}
        self.handler = handler
        self._immutable = False
        return self

    # -- internal state -----------------------------------------------------

    def _rawDict(self):
        """
        The dict of lower-cased name to raw form, grouping the wire pairs
        on first use (names decoded, values left as bytes).
        """
        raw = self._raw
        if raw is None:
            raw = {}
            for name, value in self._wire:
                key = name.decode("latin-1")
                values = raw.get(key)
                if values is None:
                    raw[key] = _WireValues((value,))
                else:
                    values.append(value)
            self._raw = raw
            self._wire = None
        return raw

    def _lines(self, name):
        """
        The raw field lines of lower-cased C{name} as C{str}, decoding or
        generating them as needed, or C{None}.
        """
        raw = self._raw
        if raw is None:
            raw = self._rawDict()
        values = raw.get(name)
        if values is None or type(values) is list:
            return values
        if values is _RECALC:
            values = self.handler.generate(name, self._parsed[name])
        else:
            values = [v.decode("latin-1") for v in values]
        raw[name] = values
        return values

    def _checkMutable(self):
        if self._immutable:
            raise AttributeError("these headers are immutable")

    # -- reading ------------------------------------------------------------

    def hasHeader(self, name: str) -> bool:
        """
        Whether header C{name} is present.
        """
        if self._raw is None:
            key = _wireKey(name.lower())
            for wireName, _ in self._wire:
                if wireName == key:
                    return True
            return False
        return name.lower() in self._raw

    def __contains__(self, name: str) -> bool:
        # A method, not C{__contains__ = hasHeader}: the compiled build
        # makes Headers an extension type (http_headers.pxd), whose C{in}
        # slot is filled from methods defined as such, not from aliases.
        return self.hasHeader(name)

    def _setTrusted(self, lower: str, value: str) -> None:
        """
        Set one field line the server itself made (a Date, a length): the
        name is lower-case and known good, the value needs no checking.
        For web2's own hot path only.
        """
        raw = self._raw
        if raw is None:
            raw = self._rawDict()
        raw[lower] = [value]
        if self._parsed:
            self._parsed.pop(lower, None)

    def _firstRaw(self, lower: str):
        """
        The first field line of lower-cased C{lower} as C{str}, or C{None};
        without copying.  For web2's own hot path only.

        Headers still in their wire form are searched as they are, without
        grouping them (a request's Host is usually its first field).
        """
        raw = self._raw
        if raw is None:
            key = _wireKey(lower)
            for name, value in self._wire:
                if name == key:
                    return value.decode("latin-1")
            return None
        values = raw.get(lower)
        if values is None:
            return None
        cls = type(values)
        if cls is _WireValues:
            return values[0].decode("latin-1")
        if cls is not list:
            values = self._lines(lower)
        return values[0] if values else None

    def hasAnyHeader(self, names) -> bool:
        """
        Whether any of C{names} (lower-cased C{str}) is present: one cheap
        test for, say, "is this a conditional request?".
        """
        if self._raw is None:
            keys = _wireKeySets.get(names)
            if keys is None:
                keys = frozenset(_wireKey(n) for n in names)
                if len(_wireKeySets) < 64:
                    _wireKeySets[names] = keys
            for name, _ in self._wire:
                if name in keys:
                    return True
            return False
        return not self._raw.keys().isdisjoint(names)

    def getRawHeaders(self, name: str, default=None):
        """
        The field lines of header C{name}, a new C{list} of latin-1 decoded
        C{str}, or C{default} when absent.
        """
        lower = name.lower()
        if self._raw is None:
            # Still in wire form: an absent header (most of those a server
            # asks about) is answered without grouping the fields.
            key = _wireKey(lower)
            for wireName, _ in self._wire:
                if wireName == key:
                    break
            else:
                return default
        values = self._lines(lower)
        if values is None:
            return default
        return list(values)

    def getHeader(self, name: str, default=None):
        """
        The parsed value of header C{name}, or C{default} when absent.

        A header with no registered parser comes back as its raw C{list}
        of C{str}, so unknown extension headers can still be read.

        @raise HeaderParseError: the value is malformed (a C{ValueError}).
        """
        name = name.lower()
        value = self._parsed.get(name, _MISSING)
        if value is not _MISSING:
            return value
        values = self._lines(name)
        if values is None:
            return default
        if name not in self.handler.parsers:
            return list(values)
        value = self.handler.parse(name, values)
        self._parsed[name] = value
        return value

    def fieldLines(self) -> list[tuple[str, str]]:
        """
        Every field line as a C{(lower-cased name, value)} pair of C{str},
        received headers in the order they arrived: the cheap way to walk
        all of a request's headers (nothing is grouped, parsed or copied
        beyond the pairs themselves), as a gateway building a CGI or WSGI
        environment does.
        """
        if self._raw is None:
            return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in self._wire]
        out = []
        for name in list(self._raw):
            values = self._lines(name)
            if values:
                out.extend([(name, value) for value in values])
        return out

    def getAllRawHeaders(self):
        """
        Yield C{(canonicalName, [str, ...])} for every header.
        """
        canonical = self.handler.canonicalName
        for name in list(self._rawDict()):
            values = self._lines(name)
            if values is not None:
                yield canonical(name), list(values)

    # -- writing ------------------------------------------------------------

    def setRawHeaders(self, name: str, values) -> None:
        """
        Replace header C{name} with the field lines C{values} (C{str}).
        An empty list removes the header.

        @raise ValueError: a value contains CR, LF or NUL, or a character
            latin-1 cannot encode, or the name is not a token.
        """
        self._checkMutable()
        lower = _checkName(name)
        if isinstance(values, (str, bytes)):
            raise TypeError("setRawHeaders takes a list of str")
        values = list(values)
        for value in values:
            _checkRawValue(name, value)
        raw = self._rawDict()
        self._parsed.pop(lower, None)
        if values:
            raw[lower] = values
        else:
            raw.pop(lower, None)

    def addRawHeader(self, name: str, value: str) -> None:
        """
        Add one more field line to header C{name}.
        """
        self._checkMutable()
        lower = _checkName(name)
        _checkRawValue(name, value)
        values = self._lines(lower)
        self._parsed.pop(lower, None)
        if values is None:
            self._rawDict()[lower] = [value]
        else:
            values.append(value)

    def setHeader(self, name: str, value) -> None:
        """
        Replace header C{name} with a parsed value; its field lines are
        generated when next needed.  For a header with no registered
        generator, C{value} must be a C{str} or a C{list} of C{str} and is
        set raw.

        @raise ValueError: no generator and C{value} is not raw text.
        """
        if self._immutable:
            raise AttributeError("these headers are immutable")
        lower = _checkedNames.get(name) or _checkName(name)
        if lower not in self.handler.generators:
            if isinstance(value, str):
                value = [value]
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                self.setRawHeaders(name, value)
                return
            raise ValueError(f"no generator for the {name} header; set it raw")
        raw = self._raw
        if raw is None:
            raw = self._rawDict()
        raw[lower] = _RECALC
        self._parsed[lower] = value

    def removeHeader(self, name: str) -> None:
        """
        Remove header C{name} if present.
        """
        self._checkMutable()
        lower = name.lower()
        self._rawDict().pop(lower, None)
        self._parsed.pop(lower, None)

    def makeImmutable(self) -> None:
        """
        Make every setter raise C{AttributeError} from now on.
        """
        self._immutable = True

    # -- whole-container operations -------------------------------------------

    def toWire(self):
        """
        The headers as C{(name, value)} C{bytes} pairs for the wire writer:
        canonical names, one pair per field line (so each cookie of
        Set-Cookie gets its own line).  Untouched wire values go out as
        they came in.
        """
        wireName = self.handler.wireName
        if self._raw is None:
            return [(wireName(n.decode("latin-1")), v) for n, v in self._wire]
        out = []
        append = out.append
        for name, values in list(self._raw.items()):
            wire = wireName(name)
            cls = type(values)
            if cls is list:
                if len(values) == 1:
                    append((wire, values[0].encode("latin-1")))
                else:
                    out.extend([(wire, v.encode("latin-1")) for v in values])
            elif cls is _WireValues:
                out.extend([(wire, v) for v in values])
            else:
                out.extend([(wire, v.encode("latin-1")) for v in self._lines(name)])
        return out

    def _fieldText(self) -> str:
        """
        All field lines as one C{str}, each C{"Name: value\\r\\n"}, in the
        order of L{toWire}; for the channel, which encodes the whole head
        once.  Every value is known to be free of CTLs but HTAB and
        encodable as latin-1 (it was checked on its way in or generated).
        """
        raw = self._raw
        if raw is None:
            return "".join([
                self.handler.wirePrefix(n.decode("latin-1")) + v.decode("latin-1") + "\r\n"
                for n, v in self._wire
            ])
        handler = self.handler
        prefixes = handler._prefixes
        out = []
        append = out.append
        # _lines() may replace a value, never add or remove a key.
        for name, values in raw.items():
            prefix = prefixes.get(name) or handler.wirePrefix(name)
            cls = type(values)
            if cls is not list:
                if cls is _WireValues:
                    values = [v.decode("latin-1") for v in values]
                else:
                    values = self._lines(name)
            if len(values) == 1:
                append(prefix + values[0])
            else:
                for value in values:
                    append(prefix + value)
        if not out:
            return ""
        out.append("")
        return "\r\n".join(out)

    def copy(self) -> "Headers":
        """
        A mutable copy; parsed values are shared, raw lists are not.
        """
        new = Headers.__new__(Headers)
        new.handler = self.handler
        new._immutable = False
        new._parsed = dict(self._parsed)
        if self._raw is None:
            new._wire = list(self._wire)
            new._raw = None
        else:
            new._wire = None
            new._raw = {
                name: values if values is _RECALC else values.__class__(values)
                for name, values in self._raw.items()
            }
        return new

    def _comparable(self):
        return {name: self._lines(name) for name in list(self._rawDict())}

    def __eq__(self, other):
        if not isinstance(other, Headers):
            return NotImplemented
        return self._comparable() == other._comparable()

    __hash__ = None

    def __repr__(self) -> str:
        shown = {}
        for name, values in self._rawDict().items():
            if values is _RECALC:
                shown[name] = self._parsed[name]
            elif values.__class__ is _WireValues:
                shown[name] = [v.decode("latin-1") for v in values]
            else:
                shown[name] = values
        return f"<Headers {shown!r}>"
