# -*- test-case-name: test_http_headers_ext -*-
"""
HTTP authentication headers (RFC 9110 11, formerly RFC 7235), with the
quoting rules of Basic (RFC 7617) and Digest (RFC 7616).

Parsed forms:
  - C{Authorization}, C{Proxy-Authorization}: C{(scheme.lower(), creds)}
    where C{creds} is the token68 C{str} (base64 survives intact, padding
    included), a C{dict} of auth-params (lower-cased names), or C{''}
    for a bare scheme.
  - C{WWW-Authenticate}, C{Proxy-Authenticate}: a C{list} of
    C{(scheme, creds)} challenges, the scheme's case preserved, C{creds} a
    token68 C{str} or a C{dict} of auth-params (possibly empty).
"""

import re

from web2._headers_tokens import Scanner, isToken, quoteString, single

_OWS = re.compile(r"[ \t]*")
_RWS = re.compile(r"[ \t]+")
_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_TOKEN68_FULL = re.compile(r"[A-Za-z0-9\-._~+/]+=*\Z")
# An auth-param begins with token BWS "=" (a new challenge does not).
_PARAM_START = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+)[ \t]*=")

# Parameters that RFC 7616 says must not be quoted.
_UNQUOTED_IN_CHALLENGE = frozenset(("algorithm", "stale"))
_UNQUOTED_IN_CREDENTIALS = frozenset(("algorithm", "qop", "nc"))
_SCHEME_CAPS = {
    "basic": "Basic", "digest": "Digest", "bearer": "Bearer",
    "negotiate": "Negotiate", "ntlm": "NTLM",
}  # fmt: skip


def _token68(sc):
    """
    Consume a token68 if it makes up the whole credential (what follows
    is only whitespace, then a comma or the end); else consume nothing.
    """
    m = _TOKEN68.match(sc.text, sc.pos)
    if m is None:
        return None
    after = _OWS.match(sc.text, m.end()).end()
    if after < sc.end and sc.text[after] != ",":
        return None
    sc.pos = m.end()
    return m.group()


def _authParams(sc):
    """
    Consume C{1#auth-param}.  Stops before anything that is not an
    auth-param, which in a challenge list is the next challenge.

    @return: C{(params, separated)}, C{separated} telling whether the list
        separator after the last parameter was consumed.
    """
    params = {}
    while True:
        m = sc.match(_PARAM_START)
        if m is None:
            raise ValueError(f"expected an auth-param at offset {sc.pos}")
        name = m.group(1).lower()
        sc.ows()
        value = sc.value()
        if name in params:
            raise ValueError(f"auth-param {name!r} given twice")
        params[name] = value
        save = sc.pos
        sc.ows()
        if not sc.accept(","):
            sc.pos = save
            return params, False
        sc.ows()
        while sc.accept(","):
            sc.ows()
        if _PARAM_START.match(sc.text, sc.pos) is None:
            return params, True


def _schemeAndCreds(sc):
    """
    Parse C{auth-scheme [ 1*SP ( token68 / #auth-param ) ]}.
    """
    scheme = sc.token()
    save = sc.pos
    if sc.match(_RWS) is None or sc.atEnd() or sc.peek() == ",":
        sc.pos = save
        return scheme, {}, False
    token = _token68(sc)
    if token is not None:
        return scheme, token, False
    params, separated = _authParams(sc)
    return scheme, params, separated


def _parseCredentials(raw):
    sc = Scanner(single(raw))
    scheme, creds, separated = _schemeAndCreds(sc)
    sc.finish()
    return scheme.lower(), "" if creds == {} else creds


def _parseChallenges(raw):
    sc = Scanner(",".join(raw))
    out = []
    separated = True
    while True:
        sc.ows()
        while sc.accept(","):
            sc.ows()
            separated = True
        if sc.atEnd():
            return out
        if not separated:
            raise ValueError(f"expected ',' at offset {sc.pos}")
        scheme, creds, separated = _schemeAndCreds(sc)
        out.append((scheme, creds))


def _generateParams(params, unquoted):
    parts = []
    for name, value in params.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        value = str(value)
        if name.lower() in unquoted and isToken(value):
            parts.append(f"{name}={value}")
        else:
            parts.append(f"{name}={quoteString(value)}")
    return ", ".join(parts)


def _generateAuth(scheme, creds, unquoted):
    if not isToken(scheme):
        raise ValueError(f"invalid auth-scheme {scheme!r}")
    if isinstance(creds, str):
        if not creds:
            return scheme
        if _TOKEN68_FULL.match(creds) is None:
            raise ValueError("credentials are not a token68")
        return f"{scheme} {creds}"
    if not creds:
        return scheme
    return f"{scheme} {_generateParams(creds, unquoted)}"


def _generateCredentials(value):
    scheme, creds = value
    scheme = _SCHEME_CAPS.get(scheme.lower(), scheme)
    return [_generateAuth(scheme, creds, _UNQUOTED_IN_CREDENTIALS)]


def _generateChallenges(value):
    # One line per challenge: some clients mis-split comma-joined ones.
    return [
        _generateAuth(scheme, creds, _UNQUOTED_IN_CHALLENGE) for scheme, creds in value
    ]


_TABLE = {
    "Authorization": (_parseCredentials, _generateCredentials),
    "Proxy-Authorization": (_parseCredentials, _generateCredentials),
    "WWW-Authenticate": (_parseChallenges, _generateChallenges),
    "Proxy-Authenticate": (_parseChallenges, _generateChallenges),
}

PARSERS = {name: pair[0] for name, pair in _TABLE.items()}
GENERATORS = {name: pair[1] for name, pair in _TABLE.items()}
