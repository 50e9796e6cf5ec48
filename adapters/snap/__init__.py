"""SNAP (Standar Nasional Open API Pembayaran) transfer adapter and a matching bank server."""
