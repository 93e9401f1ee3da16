"""
Tests for L{web2.hookspecs}: the hook specifications are the plugin author's
documented contract.
"""

import dataclasses
import inspect

import pytest

from web2 import hookspecs
from web2.hookspecs import Option


def _specs():
    return {name: f for name, f in vars(hookspecs).items()
            if name.startswith("web2_") and inspect.isfunction(f)}


def test_expectedHooks():
    """
    The host calls exactly these hooks.
    """
    assert set(_specs()) == {
        "web2_options", "web2_reactor", "web2_mount_kinds", "web2_access_log_formatters",
        "web2_configure", "web2_mounts", "web2_wrap_root", "web2_response_filters",
        "web2_services", "web2_gauges", "web2_startup", "web2_shutdown",
    }


@pytest.mark.parametrize("name", sorted(_specs()))
def test_documented(name):
    """
    Every hook is marked as a web2 spec and documented with what it gets,
    what it returns (where it returns) and since when.
    """
    spec = _specs()[name]
    assert hasattr(spec, "web2_spec")
    doc = inspect.getdoc(spec)
    assert doc and "@since: 0.1" in doc
    for param in inspect.signature(spec).parameters:
        assert f"@param {param}:" in doc, (name, param)
    if name not in ("web2_configure",):
        assert "@return:" in doc, name


def test_configureIsHistoric():
    """
    C{web2_configure} reaches plugins registered after the call.
    """
    assert hookspecs.web2_configure.web2_spec["historic"] is True


def test_optionDefaults():
    """
    An L{Option} is a plain value with defaults for everything but its name.
    """
    option = Option("greeting")
    assert (option.short, option.default, option.help, option.coerce, option.flag,
            option.multiple) == (None, None, "", None, False, False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        option.name = "other"


def test_hookimplMarker():
    """
    L{hookspecs.hookimpl} marks implementations for the web2 project.
    """

    @hookspecs.hookimpl(tryfirst=True)
    def web2_options():
        return []

    assert web2_options.web2_impl["tryfirst"] is True
