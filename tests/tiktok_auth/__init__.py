"""Event-source resolution and the OAuth flow, over real HTTP against the sandbox."""
