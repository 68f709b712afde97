// CRC-32C for Kafka record batches.
// Hardware path: SSE4.2 crc32 over three interleaved streams (the instruction has a
// latency of 3 cycles and a throughput of 1, so three independent streams keep the unit
// busy), combined with carry-less "shift" tables. Portable path: slicing-by-8 tables.
#include "crc32c.h"
#include <string.h>

#define POLY 0x82F63B78u

static uint32_t table[8][256];
static uint32_t shift_long[4][256];   // multiply by x^(8*LONG) mod P
static uint32_t shift_short[4][256];  // multiply by x^(8*SHORT) mod P
#define LONG_BLOCK 8192
#define SHORT_BLOCK 256

static uint32_t gf2_times(const uint32_t *mat, uint32_t vec) {
    uint32_t sum = 0;
    while (vec) { if (vec & 1) sum ^= *mat; vec >>= 1; mat++; }
    return sum;
}
static void gf2_square(uint32_t *square, const uint32_t *mat) {
    for (int n = 0; n < 32; n++) square[n] = gf2_times(mat, mat[n]);
}
/// Builds the operator that appends `len` zero bytes to a CRC (zlib's crc32_combine idea).
static void zeros_op(uint32_t *even, size_t len) {
    uint32_t odd[32];
    odd[0] = POLY; uint32_t row = 1;
    for (int n = 1; n < 32; n++) { odd[n] = row; row <<= 1; }
    gf2_square(even, odd);
    gf2_square(odd, even);
    do {
        gf2_square(even, odd); len >>= 1; if (len == 0) return;
        gf2_square(odd, even); len >>= 1;
    } while (len);
    memcpy(even, odd, sizeof(odd));
}
static void zeros_table(uint32_t zeros[][256], size_t len) {
    uint32_t op[32];
    zeros_op(op, len);
    for (uint32_t n = 0; n < 256; n++) {
        zeros[0][n] = gf2_times(op, n);
        zeros[1][n] = gf2_times(op, n << 8);
        zeros[2][n] = gf2_times(op, n << 16);
        zeros[3][n] = gf2_times(op, n << 24);
    }
}
static inline uint32_t shift(uint32_t zeros[][256], uint32_t crc) {
    return zeros[0][crc & 0xff] ^ zeros[1][(crc >> 8) & 0xff] ^ zeros[2][(crc >> 16) & 0xff] ^ zeros[3][crc >> 24];
}

static int hw_available = -1;

__attribute__((constructor)) static void crc32c_init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
        table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = table[0][n];
        for (int k = 1; k < 8; k++) { c = table[0][c & 0xff] ^ (c >> 8); table[k][n] = c; }
    }
    zeros_table(shift_long, LONG_BLOCK);
    zeros_table(shift_short, SHORT_BLOCK);
#if defined(__x86_64__)
    __builtin_cpu_init();
    hw_available = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#else
    hw_available = 0;
#endif
}

uint32_t samsa_crc32c_portable(uint32_t crc, const void *data, size_t len) {
    const unsigned char *p = data;
    uint32_t c = ~crc;
    while (len && ((uintptr_t)p & 7)) { c = table[0][(c ^ *p++) & 0xff] ^ (c >> 8); len--; }
    while (len >= 8) {
        uint64_t w; memcpy(&w, p, 8);
        w ^= c;
        c = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^ table[4][(w >> 24) & 0xff]
          ^ table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^ table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
        p += 8; len -= 8;
    }
    while (len--) c = table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

#if defined(__x86_64__)
#include <nmmintrin.h>
__attribute__((target("sse4.2")))
static uint32_t crc32c_hw(uint32_t crc, const void *data, size_t len) {
    const unsigned char *next = data;
    uint64_t c0 = ~crc;
    while (len && ((uintptr_t)next & 7)) { c0 = _mm_crc32_u8((uint32_t)c0, *next++); len--; }
    while (len >= LONG_BLOCK * 3) {
        uint64_t c1 = 0, c2 = 0;
        const unsigned char *end = next + LONG_BLOCK;
        do {
            uint64_t a, b, d;
            memcpy(&a, next, 8); memcpy(&b, next + LONG_BLOCK, 8); memcpy(&d, next + 2 * LONG_BLOCK, 8);
            c0 = _mm_crc32_u64(c0, a); c1 = _mm_crc32_u64(c1, b); c2 = _mm_crc32_u64(c2, d);
            next += 8;
        } while (next < end);
        c0 = shift(shift_long, (uint32_t)c0) ^ c1;
        c0 = shift(shift_long, (uint32_t)c0) ^ c2;
        next += LONG_BLOCK * 2; len -= LONG_BLOCK * 3;
    }
    while (len >= SHORT_BLOCK * 3) {
        uint64_t c1 = 0, c2 = 0;
        const unsigned char *end = next + SHORT_BLOCK;
        do {
            uint64_t a, b, d;
            memcpy(&a, next, 8); memcpy(&b, next + SHORT_BLOCK, 8); memcpy(&d, next + 2 * SHORT_BLOCK, 8);
            c0 = _mm_crc32_u64(c0, a); c1 = _mm_crc32_u64(c1, b); c2 = _mm_crc32_u64(c2, d);
            next += 8;
        } while (next < end);
        c0 = shift(shift_short, (uint32_t)c0) ^ c1;
        c0 = shift(shift_short, (uint32_t)c0) ^ c2;
        next += SHORT_BLOCK * 2; len -= SHORT_BLOCK * 3;
    }
    while (len >= 8) { uint64_t a; memcpy(&a, next, 8); c0 = _mm_crc32_u64(c0, a); next += 8; len -= 8; }
    while (len) { c0 = _mm_crc32_u8((uint32_t)c0, *next++); len--; }
    return ~(uint32_t)c0;
}
#endif

uint32_t samsa_crc32c(uint32_t crc, const void *data, size_t len) {
#if defined(__x86_64__)
    if (hw_available == 1) return crc32c_hw(crc, data, len);
#endif
    return samsa_crc32c_portable(crc, data, len);
}

int samsa_crc32c_hardware_available(void) { return hw_available == 1; }
