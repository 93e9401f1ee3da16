"""
Settings of the test Django project: no database, no templates, only what
the views need.
"""

DEBUG = False
SECRET_KEY = "web2-wsgi-tests-only-not-a-secret"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "djangoproj.urls"
INSTALLED_APPS = []
MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
]
DATABASES = {}
USE_TZ = True
USE_X_FORWARDED_HOST = False
FILE_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024  # larger uploads go to a temporary file
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django": {"handlers": ["stderr"], "level": "ERROR"}},
}
