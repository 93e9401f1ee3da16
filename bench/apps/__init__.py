"""
The tiny applications each server under test runs.
"""
