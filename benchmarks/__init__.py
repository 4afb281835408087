"""Speed and memory benchmarks of ArtiMuse: run `python -m benchmarks.bench` from the repository."""
