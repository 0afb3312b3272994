"""File and barcode formats of the collection channels: convenience stores, banks."""
