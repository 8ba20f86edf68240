"""restore's built-in plugins, registered through the same entry-point group a third party uses.

Registering costs imports only, never torch: each module imports torch inside the methods that
compute, and the networks (nn.Module subclasses) live in their own `*_network` modules that
`build_network` imports. `restore --help`, `restore list` and `restore plugins` therefore start
without torch; tests/cli/test_startup.py holds every installed plugin to that.
"""
