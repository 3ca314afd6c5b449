"""What the headers gate asks of every response: the classes of response, and the rules."""
