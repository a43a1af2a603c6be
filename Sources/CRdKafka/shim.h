// librdkafka, built against Debian's headers (librdkafka-dev). At run time any librdkafka
// from 2.0 on loads; the tests put a newer one first on LD_LIBRARY_PATH (tests/compat/test_cdc.py).
#ifndef DRIFT_CRDKAFKA_SHIM_H
#define DRIFT_CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#endif
