"""
The views of the test Django project.
"""

import hashlib
import io

from django.http import FileResponse, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt


def index(request):
    return HttpResponse(f"django index; hello is at {reverse('hello', args=['you'])}",
                        content_type="text/plain")


def hello(request, name):
    return HttpResponse(f"Hello, {name}!", content_type="text/plain")


def where(request):
    return JsonResponse({
        "script_name": request.META["SCRIPT_NAME"],
        "path_info": request.path_info,
        "path": request.path,
        "absolute": request.build_absolute_uri(),
    })


@csrf_exempt
def form(request):
    fields = ",".join(f"{k}={v}" for k, values in sorted(request.POST.lists()) for v in values)
    return HttpResponse(f"form: {fields}", content_type="text/plain")


@csrf_exempt
def upload(request):
    upload = request.FILES["file"]
    data = upload.read()
    return JsonResponse({"filename": upload.name, "size": len(data),
                         "sha256": hashlib.sha256(data).hexdigest(),
                         "note": request.POST.get("note")})


def stream(request):
    # Each line is bigger than what the server lets wait between the
    # application and the client: the response is streamed.
    return StreamingHttpResponse((f"line {n} " + "x" * 262144 + "\n" for n in range(5)),
                                 content_type="text/plain")


def download(request):
    return FileResponse(io.BytesIO(b"d" * 100000), as_attachment=True,
                        filename="data.bin")


def boom(request):
    raise RuntimeError("django view exploded")


def notFound(request, exception):
    return HttpResponse("custom django 404", status=404, content_type="text/plain")


def serverError(request):
    return HttpResponse("custom django 500", status=500, content_type="text/plain")
