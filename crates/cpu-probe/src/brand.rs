//! x86 brand-string normalisation (in progress).
