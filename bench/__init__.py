"""Benchmarks: pipeline throughput (`python -m bench.run`) and entity resolution at scale."""
