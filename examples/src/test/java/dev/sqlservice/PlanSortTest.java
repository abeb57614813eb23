package dev.sqlservice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.sqlservice.bench.BenchItemsRecord;
import java.math.BigDecimal;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.jooq.SQLDialect;
import org.junit.jupiter.api.Test;

/**
 * saveAll's plan orders the records of a table by primary key, stably, and names the first duplicate in input
 * order. Integer keys are sorted as packed primitives when their range allows, otherwise through a comparator:
 * both must give exactly the order of a stable sort by key. No database: the plan is pure.
 */
class PlanSortTest {

    private static final OffsetDateTime AT = OffsetDateTime.of(2026, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC);

    private static BenchItemsRecord item(long id) {
        return new BenchItemsRecord(id, "n" + id, 1, BigDecimal.ONE, null, AT);
    }

    /** The records in the order the plan will write them: its groups' records, in order. */
    private static List<BenchItemsRecord> planned(List<BenchItemsRecord> records) {
        List<BenchItemsRecord> order = new ArrayList<>();
        for (Upserts.Group<BenchItemsRecord> group : Upserts.plan(records, Backend.of(SQLDialect.POSTGRES)).groups()) {
            order.addAll(group.records());
        }
        return order;
    }

    private static List<BenchItemsRecord> stableByKey(List<BenchItemsRecord> records) {
        List<BenchItemsRecord> expected = new ArrayList<>(records);
        expected.sort(Comparator.comparing(BenchItemsRecord::getId)); // List.sort is stable
        return expected;
    }

    private static void assertSameOrder(List<BenchItemsRecord> actual, List<BenchItemsRecord> expected) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < expected.size(); i++) {
            assertThat(actual.get(i)).as("position %d", i).isSameAs(expected.get(i));
        }
    }

    @Test
    void shuffled_keys_in_a_small_range_come_out_in_key_order() {
        List<BenchItemsRecord> records = new ArrayList<>(IntStream.rangeClosed(1, 50_000).mapToObj(i -> item(i)).toList());
        java.util.Collections.shuffle(records, new Random(7));
        assertSameOrder(planned(records), stableByKey(records));
    }

    @Test
    void negative_and_extreme_keys_come_out_in_key_order() {
        Random random = new Random(11);
        // a range that fits the packing (negative keys included), and ranges that do not (the comparator path)
        for (long[] bounds : new long[][] {{-1_000_000, 1_000_000}, {Long.MIN_VALUE / 2, Long.MAX_VALUE / 2},
                {Long.MIN_VALUE, Long.MAX_VALUE}}) {
            List<BenchItemsRecord> records = new ArrayList<>();
            java.util.Set<Long> seen = new java.util.HashSet<>();
            while (records.size() < 5_000) {
                long id = bounds[0] + (long) (random.nextDouble() * ((double) bounds[1] - bounds[0]));
                if (seen.add(id)) {
                    records.add(item(id));
                }
            }
            records.add(item(bounds[0]));
            records.add(item(bounds[1]));
            assertSameOrder(planned(records), stableByKey(records));
        }
    }

    @Test
    void the_first_duplicate_in_input_order_is_named() {
        Random random = new Random(3);
        for (int round = 0; round < 20; round++) {
            List<BenchItemsRecord> records = new ArrayList<>();
            for (int i = 0; i < 2_000; i++) {
                records.add(item(random.nextInt(100_000)));
            }
            // the first index whose key appeared before, and where it appeared first
            java.util.Map<Long, Integer> firstAt = new java.util.HashMap<>();
            int later = -1;
            int earlier = -1;
            for (int i = 0; i < records.size(); i++) {
                Integer before = firstAt.putIfAbsent(records.get(i).getId(), i);
                if (before != null) {
                    later = i;
                    earlier = before;
                    break;
                }
            }
            if (later < 0) {
                assertSameOrder(planned(records), stableByKey(records));
                continue;
            }
            String expected = "records[" + earlier + "] and records[" + later + "] have the same primary key";
            assertThatThrownBy(() -> planned(records)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(expected);
        }
    }
}
