"""Alert Whisperer benchmarks: each case runs in a fresh process and prints one JSON result."""
