"""restore's built-in plugins, registered through the same entry-point group a third party uses."""
