# -*- test-case-name: test_hookspecs -*-
"""
The hooks of web2: the whole contract between the web2 host (C{twistd web2},
C{python -m web2}) and a plugin.

A plugin is a module registered as an entry point in the group C{web2} of
its distribution::

    [project.entry-points.web2]
    hello = "web2_hello.plugin"

The host imports every such module at startup (see
L{web2.plugins.build_plugin_manager}) and calls the functions below that the
module defines.  A function is taken as a hook implementation when its name
is one of these hooks (the C{web2_} prefix), or when it is decorated with
L{hookimpl} (needed only for the options C{tryfirst}, C{trylast} and
C{specname}).  A function named C{web2_...} that matches no hook is an error
reported at startup, so a typo does not go unnoticed.  An implementation may
accept any subset of the parameters of its hook, by name.

A plugin implements only the hooks it needs; a module that implements none
is valid (it is listed, and does nothing).

The order in which the host calls the hooks while it starts is::

    web2_options            -> the command line is built (before parsing)
    web2_reactor(options)   -> python -m web2 only, before it installs a reactor
    web2_mount_kinds        -> the kinds usable in --mount and [mounts]
    web2_access_log_formatters
    web2_configure(config)  -> every plugin sees the parsed configuration
    web2_mounts(config)     -> mounts a plugin adds from its own options
    web2_wrap_root(root, config)
    web2_response_filters(config)
    web2_services(config, site)
    web2_startup(reactor, config)     when the service starts
    web2_shutdown(reactor, config)    when it stops, inside the drain window

Hooks that may return a Deferred (or a coroutine) are marked so; the host
waits for all of them together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pluggy

#: The pluggy project name of web2.  Hook implementations must use it.
PROJECT_NAME = "web2"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)

#: The decorator plugins may use on their hook implementations, for
#: C{@hookimpl(tryfirst=True)} and the like.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@dataclass(frozen=True)
class Option:
    """
    One command-line option (and configuration-file key) a plugin adds.

    On the command line it is C{--NAME VALUE} (or C{--NAME} for a flag); in
    a site file it is the key C{NAME} of the C{[options]} table.  The value
    reaches the plugin as C{config.options[NAME]} (see
    L{web2.config.SiteConfig}).

    @ivar name: the long option name, without dashes, for example
        C{"greeting"}.  It must be unique among all installed plugins.
    @ivar short: an optional one-letter short option.
    @ivar default: the value when neither the command line nor the site file
        gives one.  For a C{multiple} option the default is an empty list.
    @ivar help: one line of help shown by C{--help}.
    @ivar coerce: a callable turning the string given on the command line
        into the value (for example C{int}); it may raise C{ValueError} with
        a message.  Values from a site file that are not strings are passed
        through unchanged.
    @ivar flag: a switch without an argument; its value is C{True} or
        C{False}.
    @ivar multiple: the option may be given several times; its value is a
        list.
    """

    name: str
    short: str | None = None
    default: Any = None
    help: str = ""
    coerce: Callable[[str], Any] | None = None
    flag: bool = False
    multiple: bool = False


@hookspec
def web2_options():
    """
    Declare the command-line options this plugin adds.

    Called once, before the command line is parsed, so that
    C{twistd web2 --help} lists every installed plugin's options, each
    labelled with the plugin's name.

    @return: a list of L{Option}.
    @since: 0.1
    """


@hookspec(firstresult=True)
def web2_reactor(options):
    """
    Name the reactor this plugin's part of the site needs.

    Asked by C{python -m web2} once the command line is parsed, before it
    installs a reactor, and only when C{--reactor} names none: the first
    plugin to answer with a name wins; with no answer web2's own epoll
    reactor runs.  web2-asgi answers C{"asyncio"} when the site mounts an
    ASGI application.  C{twistd} installs its reactor (its own
    C{--reactor} option) before any plugin is loaded: there a plugin that
    needs another reactor says so when the site is built, with a
    L{web2.config.ConfigError} naming the option to add.

    @param options: the parsed command line (a
        L{twisted.python.usage.Options}): C{options["mount"]} holds the
        L{web2.config.MountSpec}s of the command line, C{options["config"]}
        the site file's path or C{None}, and every plugin option is there
        by name.  A site file is not read yet.
    @return: a reactor name as C{--reactor} takes it (C{"asyncio"},
        C{"web2"}, ...), or C{None}.
    @since: 0.1
    """


@hookspec
def web2_mount_kinds():
    """
    Name the kinds of resource this plugin can mount.

    A mount says where a resource goes: C{--mount PATH=KIND:ARGUMENT} on the
    command line, or a C{[mounts]} entry in a site file.  The host finds the
    factory registered for C{KIND} and calls it as
    C{factory(argument, config, **mountOptions)}: C{argument} is the text
    after the first colon (a C{str}, possibly empty), C{config} the
    L{web2.config.SiteConfig}, and C{mountOptions} the extra keys of that
    mount's table in a site file (a factory that accepts none rejects them
    with a precise message).  A factory raises C{ValueError} with a short
    message when the argument is wrong; the host reports it as a
    configuration error naming the mount.

    A factory whose argument is a file-system path says so with an
    attribute C{pathArgument = True}: the host then hands it a relative
    path from a site file already joined to that file's directory (as
    users expect of a file that may be read from anywhere), and one from
    the command line as given, relative to the working directory.

    Two plugins registering the same kind is an error at startup.

    @return: a C{dict} mapping a kind name (C{str}) to a factory returning an
        L{web2.iweb.IResource}.
    @since: 0.1
    """


@hookspec
def web2_access_log_formatters():
    """
    Add access-log formats, selectable with C{--log-format NAME}.

    @return: a C{dict} mapping a format name to an
        L{web2.iweb.IAccessLogFormatter} (a callable turning one
        C{web2.access} event into one line).
    @since: 0.1
    """


@hookspec(historic=True)
def web2_configure(config):
    """
    See the parsed configuration, before anything is built from it.

    A plugin may read its options here, check them (raise
    L{web2.config.ConfigError} with a message for a bad value) and keep
    what it needs.  This hook is historic: a plugin registered later still
    receives the call.

    @param config: the L{web2.config.SiteConfig}.
    @since: 0.1
    """


@hookspec
def web2_mounts(config):
    """
    Mount resources from this plugin's own options.

    This is how a shortcut option becomes a mount: web2-static turns
    C{--path DIR} into a mount of C{DIR} at C{/}.  A path also mounted by
    C{--mount}, by the site file or by another plugin is an error reported
    with both sources.

    @param config: the L{web2.config.SiteConfig}.
    @return: a list of C{(path, resource)} pairs (C{path} starts with
        C{"/"}), or an empty list.
    @since: 0.1
    """


@hookspec
def web2_wrap_root(root, config):
    """
    Wrap the root resource of the site (virtual hosts, authentication,
    proxy headers...).

    The implementations run one after the other, each receiving the result
    of the previous one as C{root}; an implementation marked
    C{@hookimpl(tryfirst=True)} sees the bare root (it ends up innermost),
    one marked C{trylast} wraps last (outermost).

    @param root: the L{web2.iweb.IResource} built so far: the mount tree, or
        the only mounted resource when a single mount sits at C{/}.
    @param config: the L{web2.config.SiteConfig}.
    @return: the wrapping resource, or C{None} to leave C{root} as it is.
    @since: 0.1
    """


@hookspec
def web2_response_filters(config):
    """
    Add response filters to the site.

    A filter is a callable C{(request, response) -> response} (or a Deferred
    of one), applied by L{web2.server.Site} to every response after its
    default filters; one with a true C{handleErrors} attribute also sees
    error responses.

    @param config: the L{web2.config.SiteConfig}.
    @return: a list of filters, or an empty list.
    @since: 0.1
    """


@hookspec
def web2_services(config, site):
    """
    Add services that run beside the HTTP listeners, such as SCGI or
    FastCGI gateways to the same site.

    The services are started after the listeners and stopped with them,
    before the drain of open HTTP connections.

    @param config: the L{web2.config.SiteConfig}.
    @param site: the L{web2.server.Site} being served.
    @return: a list of L{twisted.application.service.IService}.
    @since: 0.1
    """


@hookspec
def web2_gauges(config):
    """
    Add gauges to the site's C{metrics:} mount (asked once, at the first
    scrape, and only when the site has such a mount): a way to publish a
    plugin's figures without the plugin depending on C{prometheus_client}.

    Each gauge is a C{(name, documentation, read)} triple: C{name} a
    Prometheus metric name (C{web2_wsgi_queue}), C{documentation} its help
    text, C{read} a callable of no argument returning the value now, called
    on the reactor thread at each scrape (and, under C{--workers}, every
    second), so it must be cheap and must not block.  Under C{--workers} a
    scrape shows the sum over the live workers.

    @param config: the L{web2.config.SiteConfig}.
    @return: a list of such triples, or an empty list.
    @since: 0.1
    """


@hookspec
def web2_startup(reactor, config):
    """
    Called once the listeners are up.

    @param reactor: the running reactor.
    @param config: the L{web2.config.SiteConfig}.
    @return: C{None}, or a Deferred (or coroutine) the host waits for; a
        failure is logged.
    @since: 0.1
    """


@hookspec
def web2_shutdown(reactor, config):
    """
    Called when the server stops, after the listeners have stopped
    accepting connections and before the open connections are drained.

    The whole stop (these hooks and the drain) is bounded by
    C{--shutdown-timeout}; keep the work short.

    @param reactor: the running reactor.
    @param config: the L{web2.config.SiteConfig}.
    @return: C{None}, or a Deferred (or coroutine) the host waits for; a
        failure is logged.
    @since: 0.1
    """
