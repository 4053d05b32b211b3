"""Meta's Conversions API (``type: meta_conversions``): see docs/meta.md."""
