print("DriftBench: not yet")
