"""`python -m testbed replay`: a capture through the live probe in a lab and the offline probe, compared."""
