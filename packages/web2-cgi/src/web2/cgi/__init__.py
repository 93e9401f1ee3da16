"""
web2-cgi: CGI for web2, in both directions.

Outbound, web2 runs CGI scripts (RFC 3875): L{CGIScript}, L{FilteredScript}
(an interpreter such as php-cgi) and L{CGIDirectory}.

Inbound, web2 runs behind a front end: L{web2.cgi.scgi.SCGIFactory},
L{web2.cgi.fastcgi.FastCGIFactory}, and L{runCGI} for a site that is itself
a CGI script (C{python -m web2.cgi.run}).
"""

from web2.cgi._version import __version__
from web2.cgi.environ import createCGIEnvironment
from web2.cgi.script import CGIDirectory, CGIScript, FilteredScript


def runCGI(site, *args, **kwargs):
    """
    Answer the one request of this CGI process with C{site}; see
    L{web2.cgi.run.runCGI}.
    """
    from web2.cgi.run import runCGI as run

    return run(site, *args, **kwargs)


__all__ = [
    "__version__",
    "CGIScript",
    "FilteredScript",
    "CGIDirectory",
    "createCGIEnvironment",
    "runCGI",
]
