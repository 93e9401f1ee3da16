"""
Which of web2-core's modules run compiled in this installation.

A regular (non-editable) install of web2-core compiles the modules of the
request path listed in L{COMPILED_MODULES} with Cython, from the same source
files that ship beside them: the behaviour is the pure-Python reference's, the
CPU time of a small request about 30% lower.  The build hook
(C{packages/web2-core/hatch_build.py}) reads this list without importing web2,
so it stays a plain tuple of literal names.  Set C{WEB2_EXTENSIONS=0} while
installing to get a pure-Python build; editable installs are always pure.

Only modules whose behaviour compiled code cannot change belong here: no
module that declares zope interfaces (their methods must stay plain
functions), no pluggy hook specifications (pluggy reads their argument
names), nothing that walks the caller's frames.
"""

from importlib.machinery import EXTENSION_SUFFIXES
from importlib.util import find_spec

COMPILED_MODULES = (
    "web2._wire._abnf",
    "web2._wire._body",
    "web2._wire._errors",
    "web2._wire._events",
    "web2._wire._fields",
    "web2._wire._framing",
    "web2._wire._head",
    "web2._wire._limits",
    "web2._wire._reader",
    "web2._wire._writer",
    "web2.channel._deadlines",
    "web2.channel._producers",
    "web2.channel._request",
    "web2.channel._turns",
    "web2.channel.http",
    "web2.epollreactor",
    "web2.http",
    "web2.http_headers",
    "web2._headers_ext",
    "web2._headers_standard",
    "web2._headers_tokens",
    "web2._headers_values",
    "web2.log",
    "web2.mount",
    "web2.resource",
    "web2.responsecode",
    "web2.server",
    "web2._stream_base",
    "web2._stream_producer",
    "web2._stream_read",
    "web2._stream_sources",
)


def isCompiled(name: str) -> bool:
    """
    Whether the module called C{name} loads from an extension module (without
    importing it).
    """
    spec = find_spec(name)
    origin = (spec.origin or "") if spec is not None else ""
    return origin.endswith(tuple(EXTENSION_SUFFIXES))


def compiledModules() -> list[str]:
    """
    The names in L{COMPILED_MODULES} that load compiled here.
    """
    return [name for name in COMPILED_MODULES if isCompiled(name)]


def describeBuild() -> str:
    """
    One line for logs and C{--version}: C{"compiled"}, C{"pure Python"}, or a
    partial build named as such (a broken install: some modules fell back).
    """
    compiled = len(compiledModules())
    if compiled == len(COMPILED_MODULES):
        return f"compiled ({compiled} modules, Cython)"
    if compiled == 0:
        return "pure Python"
    return f"partly compiled ({compiled} of {len(COMPILED_MODULES)} modules)"
