# -*- test-case-name: test_wire_reader -*-
"""
The RFC 9110 / RFC 9112 grammar used by the wire layer, as compiled regular
expressions.

Each expression quotes the ABNF it implements.  Where web2 is stricter than
the RFC allows a recipient to be (no BWS in chunk extensions, no obs-fold),
the comment says so; the reader module documents why.
"""

import re

#   tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
#           "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
#   token = 1*tchar
_TCHAR = r"[-!#$%&'*+.^_`|~0-9A-Za-z]"
_TOKEN = _TCHAR + "+"
_BTOKEN = _TOKEN.encode("ascii")

#: C{token}, on bytes.
TOKEN = re.compile(_BTOKEN)

#   request-line = method SP request-target SP HTTP-version
#   method       = token
#   HTTP-version = HTTP-name "/" DIGIT "." DIGIT ; HTTP-name = %s"HTTP"
# The target is checked here only as 1*VCHAR (no CTL, no space, no
# non-ASCII); its form is checked separately.  Matched against the line
# decoded as latin-1, so that bytes >= 0x80 are rejected by the class.
REQUEST_LINE = re.compile(r"(" + _TOKEN + r") ([\x21-\x7e]+) HTTP/([0-9])\.([0-9])")

#: The HTTP-version alone, for diagnosing a line that did not match.
HTTP_VERSION = re.compile(r"HTTP/([0-9])\.([0-9])")

#: The request-target characters alone (1*VCHAR).
TARGET_CHARS = re.compile(r"[\x21-\x7e]+")

#   absolute-form = absolute-URI      (RFC 9112 section 3.2.2)
#   scheme        = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
# web2 accepts the hierarchical "scheme://authority..." shape only and
# captures the authority.
ABSOLUTE_FORM = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://([^/?#]*)")

#   authority-form = uri-host ":" port  (RFC 9112 section 3.2.3, CONNECT)
AUTHORITY_FORM = re.compile(r"[-A-Za-z0-9._~%!$&'()*+,;=\[\]:]+:[0-9]+")

#   Host = uri-host [ ":" port ]   (RFC 9110 section 7.2)
# Checked loosely: reg-name / IP-literal characters and ":" only; no space,
# "/", "@", "?", "#" or CTL.  The empty value is valid (RFC 9112 3.2).
HOST = re.compile(rb"[-A-Za-z0-9._~%!$&'()*+,;=:\[\]]*")

#   field-line    = field-name ":" OWS field-value OWS
#   field-value   = *field-content
#   field-content = field-vchar [ 1*( SP / HTAB / field-vchar ) field-vchar ]
#   field-vchar   = VCHAR / obs-text
# One match is one whole line (MULTILINE "^" anchors it at a line start and
# neither part can contain CR or LF), so counting matches against the number
# of LFs proves that every line of a block matched.  The captured value
# keeps any trailing OWS (matching it greedily is the fastest form); the
# caller strips it.
FIELD_LINE = re.compile(
    rb"^(" + _BTOKEN + rb"):[ \t]*([\t\x20-\x7e\x80-\xff]*)\r\n", re.MULTILINE
)

#: A character that may not appear in a field value: CTL other than HTAB.
FIELD_VALUE_FORBIDDEN = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

#: A bare LF (not preceded by CR) or a CR followed by anything but LF.
BARE_LINE_END = re.compile(rb"(?<!\r)\n|\r[^\n]")

#   chunk      = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
#   chunk-size = 1*HEXDIG
#   chunk-ext  = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
#   chunk-ext-val = token / quoted-string
#   quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
# Stricter than the RFC: no BWS anywhere in the line.  At most 16 hex
# digits (a 64-bit size); a longer size is refused rather than parsed.
_QUOTED_STRING = rb'"(?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*"'
CHUNK_LINE = re.compile(
    rb"([0-9A-Fa-f]{1,16})(?:;"
    + _BTOKEN
    + rb"(?:=(?:"
    + _BTOKEN
    + rb"|"
    + _QUOTED_STRING
    + rb"))?)*"
)

#: The digits of a chunk-size line, to tell "too long" from "malformed".
CHUNK_SIZE_DIGITS = re.compile(rb"[0-9A-Fa-f]+")

#   reason-phrase = 1*( HTAB / SP / VCHAR / obs-text )
REASON_PHRASE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")

#: A comma-separated list of field names, for checking all names of a
#: response at once.
TOKEN_LIST = re.compile(_BTOKEN + rb"(?:," + _BTOKEN + rb")*")
