// librdkafka, built against Debian's headers (librdkafka-dev). At run time any librdkafka
// from 2.0 on loads; the tests put a newer one first on LD_LIBRARY_PATH (tests/compat/test_cdc.py).
#ifndef DRIFT_CRDKAFKA_SHIM_H
#define DRIFT_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>

/// Queues a copy of one record with headers (`headers` is taken over on success, left to the
/// caller on failure): `rd_kafka_producev` is variadic, which Swift cannot call.
static inline rd_kafka_resp_err_t drift_rd_kafka_produce_with_headers(
    rd_kafka_t *rk, const char *topic, int32_t partition, const void *key, size_t key_len,
    const void *value, size_t value_len, rd_kafka_headers_t *headers, void *opaque) {
    return rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_len),
                             RD_KAFKA_V_VALUE((void *)value, value_len), RD_KAFKA_V_HEADERS(headers),
                             RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
}
#endif
