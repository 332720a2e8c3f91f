"""Channel adapters: each turns its protocol into a core request and the answer back."""
