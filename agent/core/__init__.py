"""The basics every part of rapportd uses: the one clock, errors, logs, settings, the
provider-neutral records at the connector boundary, the token vault, and the text of a
message (``mailtext``: plain text from MIME parts; ``segment``: the author's own lines apart
from quotes, forwards and signatures). Nothing here imports another part of rapportd."""
