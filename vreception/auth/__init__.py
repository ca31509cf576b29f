"""Sign-in, tokens and the one place where role and node-subtree access is decided."""
