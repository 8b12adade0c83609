"""Limits on API request bodies, checked on the raw bytes before anything parses them as JSON.

Python's JSON parser recurses once per ``[`` or ``{``: a body nested a few thousand levels deep ends in
a RecursionError (a 500) inside spectree's validation or a view's ``request.get_json``. The blueprint's
``before_request`` reads the body (at most PORTAL_API_MAX_BODY_MB, also when it is streamed without a
Content-Length), refuses it when it is nested deeper than PORTAL_API_MAX_JSON_DEPTH, and leaves it
cached for the parse that follows.
"""

import array
import itertools
import json
import re

from flask import current_app, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

_STRING = re.compile(rb'"[^"]*"')  # once its escaped quotes and backslashes are gone
_NOT_BRACKET = bytes(sorted(set(range(256)) - set(b"[]{}")))
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # as signed bytes: +1 for an opener, -1 for a closer


def nested_deeper_than(body: bytes | str, limit: int) -> bool:
    """Whether a JSON text opens more than ``limit`` arrays or objects inside each other.

    Brackets inside strings do not count. bytes.replace, the regex engine and C iterators do the work
    (no Python loop over the text), and the count stops at the first bracket past the limit.
    """
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    else:
        encoding = json.detect_encoding(body)  # as json.loads reads bytes: UTF-16/32 bytes are not ASCII-safe
        if not encoding.startswith("utf-8"):
            body = body.decode(encoding, "replace").encode("utf-8")
    # \\ first, left to right as the parser reads escapes, so that in \\" the quote still ends the string.
    # Outside a string a backslash is invalid JSON: the parser stops there, whatever follows.
    body = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = _STRING.sub(b"", body).partition(b'"')[0]  # a string that never ends: the parser stops there
    steps = array.array("b", brackets.translate(_STEPS, _NOT_BRACKET))
    return next(filter(limit.__lt__, itertools.accumulate(steps)), None) is not None


def limit_body() -> None:
    """The api blueprint's before_request: a body too large (413) or nested too deep (400) is refused.

    :raise RequestEntityTooLarge: (413) more than PORTAL_API_MAX_BODY_MB, by Content-Length or as read.
    :raise BadRequest: (400) a JSON body nested deeper than PORTAL_API_MAX_JSON_DEPTH.
    """
    if request.method in ("GET", "HEAD", "OPTIONS") or request.content_length == 0:
        return  # no body, or one nothing parses
    megabytes = current_app.config["PORTAL_API_MAX_BODY_MB"]
    limit = int(megabytes * 1024 * 1024)
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(megabytes)  # decided from the header: nothing is read
    # The app-wide limit is the uploads' (larger). werkzeug reads a streamed body up to the limit and stops
    # there without an error: one byte more tells a body that is too large from one that fits exactly.
    request.max_content_length = limit + 1
    try:
        body = request.get_data(cache=True)  # cached: spectree and the view parse these same bytes
    except RequestEntityTooLarge:
        raise _too_large(megabytes) from None
    if len(body) > limit:
        raise _too_large(megabytes)
    depth = current_app.config["PORTAL_API_MAX_JSON_DEPTH"]
    if request.is_json and nested_deeper_than(body, depth):
        raise BadRequest(_("The JSON body is nested deeper than %(n)d levels.", n=depth))


def _too_large(megabytes) -> RequestEntityTooLarge:
    return RequestEntityTooLarge(_("The request body is larger than %(mb)s MB.", mb=megabytes))
