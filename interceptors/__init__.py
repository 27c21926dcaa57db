"""Server interceptors, one concern per module; `chain.py` fixes their order."""
