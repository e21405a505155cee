"""In an installed wheel: copies of the top-level migrations/ and pass_templates/
(see setup.py). Empty in a source checkout, where those folders are read in place."""
