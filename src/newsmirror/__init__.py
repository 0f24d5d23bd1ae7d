"""newsmirror: durable, readable mirrors of news sources."""

__version__ = "0.1.0"
