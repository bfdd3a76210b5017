"""The web app: where billers, analysts and leads work (docs/web.md)."""
