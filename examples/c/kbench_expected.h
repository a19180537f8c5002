/* FNV-1a 64 hashes of the outputs of kbench workloads Q1, Q5 and D3 (bench/workloads.json,
 * kbench's inputs and quantization), computed from the scalar reference kernels and checked
 * by crates/capi/tests/kbench_checksums.rs. */
#ifndef EK_KBENCH_EXPECTED_H
#define EK_KBENCH_EXPECTED_H
#define EK_EXPECTED_Q1_FNV1A 0x6bac9fdc598b3f19ULL
#define EK_EXPECTED_Q5_FNV1A 0xef51ab0ce69a807fULL
#define EK_EXPECTED_D3_FNV1A 0x99a6ca31611adc71ULL
#endif
