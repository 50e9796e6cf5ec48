"""Biometric data interchange records (ISO/IEC 19794 family): the parts every record shares.

A cursor that names the field whenever data runs out, the typed errors, the ISO/IEC
19794-1:2011 representation header and the image payload codecs; the finger and iris image
records (parts 4 and 6) live here too, the minutiae records in `matcher.fingerprint`.
"""
