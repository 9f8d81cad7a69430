"""The hall managers' dashboard (Flask). Filled by the dashboard issue."""
