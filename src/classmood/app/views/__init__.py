"""One module per page of the app (``render()`` draws it), plus shared drawing helpers."""
