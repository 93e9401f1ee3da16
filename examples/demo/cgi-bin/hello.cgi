#!/bin/sh
# A CGI script (RFC 3875): the server passes the request in the environment.
printf 'Content-Type: text/html; charset=utf-8\r\n\r\n'
printf '<!DOCTYPE html><html><body><h1>Hello from a CGI script</h1>'
printf '<p>REQUEST_METHOD=%s QUERY_STRING=%s</p></body></html>\n' "$REQUEST_METHOD" "$QUERY_STRING"
