"""The hall's own heads: managers' labels on crops, fitting, and the versions switched on."""
