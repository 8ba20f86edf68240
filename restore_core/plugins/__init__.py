"""Plugins: hook specifications, the plugin host that loads and isolates them, the strict registries
they fill, the spec strings that build components, and the scaffold for plugin authors."""
