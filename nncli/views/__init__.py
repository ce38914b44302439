"""Views: the only code that imports rich or matplotlib. They listen to events and read run files."""
