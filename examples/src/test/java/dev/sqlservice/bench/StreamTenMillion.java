package dev.sqlservice.bench;

import dev.sqlservice.Database;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.stream.Stream;
import org.jooq.Record;
import org.jooq.SQLDialect;

/**
 * The acceptance run, once by hand: 10,000,000 generated rows (five columns) streamed in a small heap,
 * blocking and reactive, on the server the URL names.
 *
 * <pre>{@code
 * java -Xmx64m -cp target/test-classes:target/classes:<test class path> dev.sqlservice.bench.StreamTenMillion \
 *     jdbc:postgresql://127.0.0.1:5432/test [user] [rows]
 * }</pre>
 *
 * <p>Prints, per form: rows, seconds, and the peak heap used (every heap pool, garbage included).
 */
public final class StreamTenMillion {

    public static void main(String[] args) throws Exception {
        String url = args[0];
        String user = args.length > 1 && !args[1].isEmpty() ? args[1] : null;
        long rows = args.length > 2 ? Long.parseLong(args[2]) : 10_000_000L;
        try (Database db = Database.builder().url(url).username(user).poolSize(2).build()) {
            String sql = db.dialect().family() == SQLDialect.POSTGRES
                    ? "select i as id, 'name-' || i as name, i % 100 as qty, (i % 1000) / 10.0 as price, now() as ts"
                            + " from generate_series(1, " + rows + ") i"
                    : "select seq as id, concat('name-', seq) as name, seq % 100 as qty, (seq % 1000) / 10.0 as price,"
                            + " now() as ts from seq_1_to_" + rows;
            System.out.printf(Locale.ROOT, "%s, max heap %.0f MiB%n", db.dialect(),
                    Runtime.getRuntime().maxMemory() / 1024.0 / 1024.0);
            List<MemoryPoolMXBean> heap = ManagementFactory.getMemoryPoolMXBeans().stream()
                    .filter(p -> p.getType() == MemoryType.HEAP).toList();
            for (String form : List.of("Session.stream", "AsyncSession.stream")) {
                System.gc();
                heap.forEach(MemoryPoolMXBean::resetPeakUsage);
                long start = System.nanoTime();
                long[] count = {0, 0};
                if (form.equals("Session.stream")) {
                    try (Stream<Record> stream = db.blockingSession().stream(sql)) {
                        stream.forEach(r -> {
                            count[0]++;
                            count[1] += r.get(0, Long.class) + r.get(1, String.class).length();
                        });
                    }
                } else {
                    CountDownLatch done = new CountDownLatch(1);
                    db.session().stream(sql, java.util.Map.of()).subscribe(new Flow.Subscriber<Record>() {
                        private Flow.Subscription s;

                        @Override
                        public void onSubscribe(Flow.Subscription subscription) {
                            s = subscription;
                            s.request(256);
                        }

                        @Override
                        public void onNext(Record r) {
                            count[0]++;
                            count[1] += r.get(0, Long.class) + r.get(1, String.class).length();
                            if (count[0] % 256 == 0) {
                                s.request(256);
                            }
                        }

                        @Override
                        public void onError(Throwable t) {
                            t.printStackTrace();
                            done.countDown();
                        }

                        @Override
                        public void onComplete() {
                            done.countDown();
                        }
                    });
                    done.await();
                }
                double seconds = (System.nanoTime() - start) / 1e9;
                double peak = heap.stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum() / 1024.0 / 1024.0;
                System.out.printf(Locale.ROOT, "%-20s %,d rows in %.1f s (%.0f rows/s), peak heap used %.1f MiB,"
                        + " connections borrowed after: %d%n", form, count[0], seconds, count[0] / seconds, peak,
                        db.activeConnections());
                if (count[0] != rows) {
                    throw new IllegalStateException("read " + count[0] + " rows");
                }
            }
        }
    }

    private StreamTenMillion() {}
}
