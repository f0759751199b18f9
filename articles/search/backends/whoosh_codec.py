"""The codec's old address, kept because indexes on disk name it.

Whoosh pickles every segment, codec object included, into the index's table of contents, so
an index written before the Whoosh backend became a package refers to
``articles.search.backends.whoosh_codec.NativeBlocksCodec``; without this module such an index
would no longer open. New segments name ``articles.search.backends.whoosh.codec``. Django-free,
like the codec itself.
"""

from .whoosh.codec import NativeBlocksCodec

__all__ = ["NativeBlocksCodec"]
