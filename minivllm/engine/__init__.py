"""The step loop and the conversion of token updates into user outputs."""
