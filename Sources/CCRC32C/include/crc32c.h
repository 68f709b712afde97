#pragma once
#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli), as Kafka's record batch v2 uses it.
/// `crc` is the running value (start with 0); returns the updated CRC.
/// Uses the SSE4.2 `crc32` instruction when the CPU has it, a table fallback otherwise.
uint32_t samsa_crc32c(uint32_t crc, const void *data, size_t length);

/// The portable (table-driven) implementation, exposed so tests can compare both paths.
uint32_t samsa_crc32c_portable(uint32_t crc, const void *data, size_t length);

/// 1 when the hardware path is in use.
int samsa_crc32c_hardware_available(void);
