# -*- test-case-name: test_static_mime -*-
"""
The content types of static files, decided by file name extension.

The table is built into web2 so that a site serves the same types on every
host: the system's C{/etc/mime.types} (which Python's C{mimetypes} module
reads) differs between distributions and is sometimes missing, and a
server whose answers change with the packages installed on the host is hard
to test and to reason about.  Sites extend or override the table per
L{web2.static.File} (its C{contentTypes} parameter) or on the command line
(C{--mime-type EXT=TYPE}); L{readMimeTypes} loads a C{mime.types} file for
those who want the host's table after all.

Textual types carry C{charset=utf-8}, as most static sites are UTF-8 and a
browser otherwise guesses (windows-1252 for HTML without a C{<meta>}).

The rule for compressed files: a file's own name decides its type, so
C{a.tar.gz} is served as C{application/gzip} with no C{Content-Encoding}.
Announcing C{Content-Encoding: gzip} for it would make browsers unpack the
download and save the tar under a C{.gz} name.  Transparent compression of
static files comes from I{precompressed siblings} instead (see
L{web2.static.File}): C{style.css.br} beside C{style.css}.
"""

from __future__ import annotations

import os

_UTF8 = "; charset=utf-8"

# One entry per line: extension (without the dot, lower case) and type.
# Types follow the IANA registry; de-facto types are used where browsers
# expect them (application/x-*).
_TABLE = """
html text/html;u
htm text/html;u
xhtml application/xhtml+xml
css text/css;u
js text/javascript;u
mjs text/javascript;u
cjs text/javascript;u
json application/json
jsonld application/ld+json
map application/json
webmanifest application/manifest+json
xml application/xml
xsl application/xslt+xml
xslt application/xslt+xml
rss application/rss+xml
atom application/atom+xml
txt text/plain;u
text text/plain;u
log text/plain;u
conf text/plain;u
ini text/plain;u
cfg text/plain;u
toml text/plain;u
yaml text/plain;u
yml text/plain;u
py text/plain;u
rst text/plain;u
c text/plain;u
h text/plain;u
diff text/plain;u
patch text/plain;u
md text/markdown;u
markdown text/markdown;u
csv text/csv;u
tsv text/tab-separated-values;u
ics text/calendar;u
vcf text/vcard;u
vtt text/vtt;u
srt text/plain;u
png image/png
apng image/apng
gif image/gif
jpg image/jpeg
jpeg image/jpeg
jpe image/jpeg
jfif image/jpeg
webp image/webp
avif image/avif
heic image/heic
heif image/heif
jxl image/jxl
bmp image/bmp
ico image/vnd.microsoft.icon
cur image/x-icon
svg image/svg+xml
svgz image/svg+xml
tif image/tiff
tiff image/tiff
psd image/vnd.adobe.photoshop
woff font/woff
woff2 font/woff2
ttf font/ttf
otf font/otf
ttc font/collection
eot application/vnd.ms-fontobject
mp3 audio/mpeg
m4a audio/mp4
aac audio/aac
oga audio/ogg
ogg audio/ogg
opus audio/ogg
flac audio/flac
wav audio/wav
weba audio/webm
mid audio/midi
midi audio/midi
mp4 video/mp4
m4v video/mp4
webm video/webm
ogv video/ogg
mov video/quicktime
avi video/x-msvideo
mkv video/x-matroska
mpeg video/mpeg
mpg video/mpeg
ts video/mp2t
m3u8 application/vnd.apple.mpegurl
mpd application/dash+xml
wasm application/wasm
pdf application/pdf
epub application/epub+zip
rtf application/rtf
doc application/msword
docx application/vnd.openxmlformats-officedocument.wordprocessingml.document
xls application/vnd.ms-excel
xlsx application/vnd.openxmlformats-officedocument.spreadsheetml.sheet
ppt application/vnd.ms-powerpoint
pptx application/vnd.openxmlformats-officedocument.presentationml.presentation
odt application/vnd.oasis.opendocument.text
ods application/vnd.oasis.opendocument.spreadsheet
odp application/vnd.oasis.opendocument.presentation
zip application/zip
gz application/gzip
tgz application/gzip
bz2 application/x-bzip2
xz application/x-xz
zst application/zstd
br application/octet-stream
7z application/x-7z-compressed
rar application/vnd.rar
tar application/x-tar
jar application/java-archive
apk application/vnd.android.package-archive
deb application/vnd.debian.binary-package
rpm application/x-rpm
dmg application/x-apple-diskimage
iso application/x-iso9660-image
exe application/vnd.microsoft.portable-executable
msi application/x-msi
bin application/octet-stream
so application/octet-stream
whl application/zip
sh application/x-sh
pem application/x-pem-file
crt application/x-x509-ca-cert
der application/x-x509-ca-cert
p12 application/x-pkcs12
asc application/pgp-signature
sig application/pgp-signature
torrent application/x-bittorrent
swf application/x-shockwave-flash
"""


def _parseTable(text: str) -> dict[str, str]:
    table = {}
    for line in text.split("\n"):
        if line:
            ext, kind = line.split(" ")
            if kind.endswith(";u"):
                kind = kind[:-2] + _UTF8
            table["." + ext] = kind
    return table


#: The built-in table: lower-case extension with its dot → Content-Type.
#: Treat it as read-only; give overrides to L{File} or L{buildTable}.
DEFAULT_TYPES: dict[str, str] = _parseTable(_TABLE)

#: The type of a file whose extension is not in the table.
DEFAULT_TYPE = "application/octet-stream"


def normalizeExtension(ext: str) -> str:
    """
    Spell an extension the way the table does: lower case, one leading dot
    (C{"HTML"}, C{".Html"} and C{"html"} all become C{".html"}).
    """
    ext = ext.strip().lower()
    return ext if ext.startswith(".") else "." + ext


def buildTable(overrides=None, base=None) -> dict[str, str]:
    """
    A new table: C{base} (the built-in one by default) updated with
    C{overrides}, whose extensions may be spelled with or without the dot.
    Neither argument is modified.
    """
    table = dict(DEFAULT_TYPES if base is None else base)
    if overrides:
        for ext, kind in overrides.items():
            table[normalizeExtension(ext)] = kind
    return table


def contentTypeFor(name: str, table=None, default: str = DEFAULT_TYPE) -> str:
    """
    The Content-Type of a file called C{name}, from its last extension.

    @param table: a table as returned by L{buildTable}; the built-in one
        when omitted.
    @param default: the type for an unknown or missing extension.
    """
    ext = os.path.splitext(name)[1].lower()
    return (DEFAULT_TYPES if table is None else table).get(ext, default)


def readMimeTypes(path: str) -> dict[str, str]:
    """
    Read a C{mime.types} file (one type per line followed by its extensions,
    C{#} comments) into a dict suitable as C{overrides} for L{buildTable}.
    """
    table = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if len(words) < 2 or "/" not in words[0]:
                continue
            for ext in words[1:]:
                table[normalizeExtension(ext)] = words[0]
    return table


def parseMimeOption(value: str) -> tuple[str, str]:
    """
    Parse a command-line C{EXT=TYPE} (e.g. C{.md=text/plain}).

    @raise ValueError: when it is not of that form.
    """
    ext, sep, kind = value.partition("=")
    ext, kind = ext.strip(), kind.strip()
    if not sep or not ext.strip(".") or "/" not in kind:
        raise ValueError(f"expected EXT=TYPE, such as .md=text/markdown, not {value!r}")
    return normalizeExtension(ext), kind
