//! SoC / chipset name decoding (in progress).
