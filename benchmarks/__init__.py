"""nncli's speed benchmark against PyTorch eager: see benchmarks/README.md and `python -m benchmarks.run`.

Nothing is imported here, so that `run.py` can set the thread-count variables before NumPy loads.
"""
