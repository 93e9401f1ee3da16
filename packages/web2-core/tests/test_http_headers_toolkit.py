"""
Tests for the header parsing toolkit (web2._headers_tokens, re-exported by
web2.http_headers): scanner, lists, parameters, quoting, ext-values.
"""

import pytest

from web2.http_headers import (
    Scanner,
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


def _params(text):
    sc = Scanner(text)
    result = parseParams(sc, valueRequired=False)
    sc.finish()
    return result


def test_listSkipsEmptyElements():
    """
    RFC 9110 5.6.1: empty list elements are ignored, lines are joined.
    """
    assert parseList(["a, ,b,,", " c"], Scanner.token) == ["a", "b", "c"]
    assert parseList([",", ""], Scanner.token) == []


def test_listRefusesJunkBetweenElements():
    """
    Two elements without a comma are an error.
    """
    with pytest.raises(ValueError):
        parseList(["a b"], Scanner.token)


def test_quotedStringsHonourCommasAndEscapes():
    """
    Commas and semicolons inside quoted-strings do not split; quoted-pairs
    are unescaped.
    """
    result = parseList(
        ['a;x="1, 2;3", b;y="q\\"uo\\\\te"'], lambda sc: (sc.token(), _p(sc))
    )
    assert result == [("a", [("x", "1, 2;3")]), ("b", [("y", 'q"uo\\te')])]


def _p(sc):
    return parseParams(sc)


def test_unterminatedQuoteFails():
    """
    An unterminated quoted-string is malformed.
    """
    with pytest.raises(ValueError):
        parseList(['a;x="open'], lambda sc: (sc.token(), _p(sc)))


@pytest.mark.parametrize("ctl", ["\x00", "\x01", "\n", "\r", "\x1f", "\x7f"])
def test_controlCharactersRefused(ctl):
    """
    Control characters other than HTAB are refused by the scanner.
    """
    with pytest.raises(ValueError):
        Scanner(f"a{ctl}b")
    with pytest.raises(ValueError):
        checkText(f'"a{ctl}"')
    assert checkText("a\tb") == "a\tb"


def test_params():
    """
    Parameters: names lower-cased, values kept, BWS tolerated, bare names
    allowed only when asked.
    """
    assert _params(';A=1; b = "x y" ;c;;') == [("a", "1"), ("b", "x y"), ("c", None)]
    sc = Scanner(";c")
    with pytest.raises(ValueError):
        parseParams(sc, valueRequired=True)


def test_parseKeyValue():
    """
    parseKeyValue reads token[=value] and leaves the cursor after it.
    """
    sc = Scanner('Max-Age = "5", x')
    assert parseKeyValue(sc) == ("max-age", "5")
    assert sc.peek() == ","


def test_quoting():
    """
    quoteString escapes quotes and backslashes; quoteIfNeeded leaves tokens.
    """
    assert quoteString('a"b\\c') == '"a\\"b\\\\c"'
    assert quoteIfNeeded("abc") == "abc"
    assert quoteIfNeeded("a b") == '"a b"'
    assert quoteIfNeeded("") == '""'
    with pytest.raises(ValueError):
        quoteString("a\r\nb")
    assert isToken("x-y") and not isToken("x y") and not isToken("")


def test_generateParams():
    """
    generateParams quotes as needed and refuses bad names.
    """
    assert generateParams({"a": "1", "b": "x y", "c": None}) == ';a=1;b="x y";c'
    assert generateParams({"a": "1"}, quoteAlways={"a"}, separator="; ") == '; a="1"'
    with pytest.raises(ValueError):
        generateParams({"a b": "1"})


def test_single():
    """
    Identical repeated lines count as one; differing ones are refused.
    """
    assert single([" 5 ", "5"]) == "5"
    with pytest.raises(ValueError):
        single(["5", "6"])


def test_extValue():
    """
    RFC 8187 ext-values decode UTF-8 and ISO-8859-1, and round-trip.
    """
    assert decodeExtValue("UTF-8''%e2%82%ac%20rates") == ("\u20ac rates", "")
    assert decodeExtValue("iso-8859-1'en'%A3%20rates") == ("\xa3 rates", "en")
    assert decodeExtValue(encodeExtValue("na\xefve \u2603/x")) == (
        "na\xefve \u2603/x",
        "",
    )
    for bad in (
        "''x",
        "UTF-8'x",
        "koi8-r''x",
        "UTF-8''%zz",
        "UTF-8''%ff",
        "UTF-8''a b",
    ):
        with pytest.raises(ValueError):
            decodeExtValue(bad)


@pytest.mark.timeout(30)
def test_hugeInputsLinear():
    """
    Scanning cost stays linear: long lists, long quoted strings and long
    unterminated quotes finish (a quadratic scanner would not).
    """
    n = 200_000
    assert len(parseList(["a, " * n], Scanner.token)) == n
    sc = Scanner('"' + 'x\\"' * n + '"')
    assert len(sc.quoted()) == 2 * n
    with pytest.raises(ValueError):
        Scanner('"' + 'x\\"' * n).quoted()
    assert len(_params(";a=1" * n)) == n
