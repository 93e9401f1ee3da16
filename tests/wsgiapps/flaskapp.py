"""
A real Flask application for the end-to-end tests of web2-wsgi
(tests/test_wsgi_flask.py): routing and URL building under a mount prefix,
form posts, file uploads, a streamed response, send_file, redirects and
custom error handlers.
"""

import hashlib
import os

from flask import (
    Flask,
    Response,
    jsonify,
    redirect,
    request,
    send_file,
    stream_with_context,
    url_for,
)

app = Flask(__name__)

#: The file /file sends; the test makes it (it is not in the repository).
DATA_FILE = os.environ.get("FLASKAPP_DATA_FILE", "")


@app.route("/")
def index():
    return f"flask index; hello is at {url_for('hello', name='you')}"


@app.route("/hello/<name>")
def hello(name):
    return f"Hello, {name}!"


@app.route("/where")
def where():
    return jsonify(
        script_name=request.environ["SCRIPT_NAME"],
        path_info=request.environ["PATH_INFO"],
        url=request.url,
        url_root=request.url_root,
        remote_addr=request.remote_addr,
        scheme=request.scheme,
    )


@app.route("/form", methods=["POST"])
def form():
    fields = ",".join(f"{k}={v}" for k, v in sorted(request.form.items(multi=True)))
    return f"form: {fields}"


@app.route("/upload", methods=["POST"])
def upload():
    upload = request.files["file"]
    data = upload.read()
    return jsonify(filename=upload.filename, size=len(data),
                   sha256=hashlib.sha256(data).hexdigest(),
                   note=request.form.get("note"))


@app.route("/stream")
def stream():
    def lines():
        # Each line is bigger than what the server lets wait between the
        # application and the client: the response is streamed.
        for n in range(5):
            yield f"line {n} " + "x" * 262144 + "\n"
    return Response(stream_with_context(lines()), mimetype="text/plain")


@app.route("/file")
def file():
    return send_file(DATA_FILE, mimetype="application/octet-stream")


@app.route("/go")
def go():
    return redirect(url_for("hello", name="redirected"))


@app.route("/boom")
def boom():
    raise RuntimeError("flask view exploded")


@app.errorhandler(404)
def notFound(error):
    return "custom flask 404", 404


@app.errorhandler(500)
def serverError(error):
    return "custom flask 500", 500

