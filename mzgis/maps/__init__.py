"""Maps: how to *show* — offline interactive maps, report pages, spreadsheets, static PNGs.

Takes analysis results and layers; never computes an indicator itself.
"""
