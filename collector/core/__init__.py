"""What every room shares: the error classes, the typed records from the probe to the store, the
validated parameters of a collection, the sampler's request and result, the glossary's entries (the
shipped ones and reading glossary files), the data and cache directories, interruption shielding, safe
printing of stored text and reading of user-supplied text files. Imports nothing else of the package
(but its version).
"""
