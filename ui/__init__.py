"""Streamlit-only helpers shared by the app's pages: the cached Segmenter, session-state keys, the rule-row
widget, downloads and formatting. The core package (segmenter/) never imports streamlit; this package does."""
