"""
A minimal real Django project for the end-to-end tests of web2-wsgi
(tests/test_wsgi_django.py).
"""
