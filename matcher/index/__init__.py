"""1:N identification: fixed-length codes in FAISS, a shortlist re-ranked by the 1:1 matcher."""
