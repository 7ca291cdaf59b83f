"""Page-cited retrieval over one conversation's documents.

    Document --chunks.py--> passages --index.py--> BM25 now, dense vectors in the background
             question --index.search--> ranked passages --packing.py--> what fits the prompt
                                                          --fence.py--> fenced, cited excerpts

Documents that fit the budget go whole into the context, page by page. Larger ones are
chunked per page; chunks are embedded with sentence-transformers into an in-process numpy
matrix (cosine = dot product of normalised vectors), and BM25 keyword scores are added, scaled
to the best one (keywords.py says why). BM25 alone answers while the embeddings are still being
computed (DocumentIndex.start_embedding). The retrieval evaluations are scripts/eval_retrieval.py
and bench/bench_retrieval.py; their figures are in bench/RESULTS.md.
"""

from .chunks import chunk_document, table_chunks
from .fence import CONTEXT_HEADER, defang, format_context
from .index import DocumentIndex
from .keywords import keyword_tokens
from .packing import with_page_tables
from .passages import Passage

__all__ = [
    "CONTEXT_HEADER",
    "DocumentIndex",
    "Passage",
    "chunk_document",
    "defang",
    "format_context",
    "keyword_tokens",
    "table_chunks",
    "with_page_tables",
]
