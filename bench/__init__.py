"""
Load benchmarks of web2 against its peers; run C{python3 bench/run.py}.
"""
