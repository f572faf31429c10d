"""An independent implementation of the Attesta protocol, written from
docs/PROTOCOL.md alone (no Go code read for it), used to check the published
test vectors and a live attesta-server. See interop/attesta_client.py."""
