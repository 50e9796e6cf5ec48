"""Key ring, AES-256-GCM envelopes, NIK keyed hashes and HPKE-sealed biometric captures."""
