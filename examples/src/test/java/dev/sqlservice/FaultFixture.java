package dev.sqlservice;

import static org.assertj.core.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What the network-fault review tests share (one home instead of a copy per test class): the databases and pools a
 * test opens behind its {@link FaultProxy}, closed once the network heals, and the ways a test waits for a call's
 * outcome on a thread of its own.
 *
 * <p>{@link #close()} heals the proxy, closes every database on a thread of its own and fails the test when one
 * does not close within 6 s (then resets the proxy's connections and waits 20 s more, so that nothing outlives the
 * test), closes the other resources, and closes the proxy.
 */
final class FaultFixture {

    private final FaultProxy proxy;
    private final List<Database> opened = new ArrayList<>();
    private final List<AutoCloseable> resources = new ArrayList<>();

    FaultFixture(FaultProxy proxy) {
        this.proxy = proxy;
    }

    /** Builds {@code builder}'s database, closed by {@link #close()}. */
    Database open(Database.Builder builder) {
        Database db = builder.build();
        opened.add(db);
        return db;
    }

    /** {@code resource} (a pool handed to a database), closed by {@link #close()} after the databases. */
    <T extends AutoCloseable> T closeAfter(T resource) {
        resources.add(resource);
        return resource;
    }

    /** Heals the network, closes what the test opened (see the class comment), then the proxy. */
    void close() throws Exception {
        List<String> problems = new ArrayList<>();
        proxy.heal();
        for (Database db : opened) {
            CompletableFuture<Void> closing = new CompletableFuture<>();
            // a virtual thread, as before the diagnostics were added (its stack is read all the same)
            Thread closer = Thread.ofVirtual().name("fault-fixture-close").start(() -> {
                try {
                    db.close();
                    closing.complete(null);
                } catch (Throwable t) {
                    closing.completeExceptionally(t);
                }
            });
            try {
                closing.get(6, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                // where close() waits, and what the other threads of the library do meanwhile: the failure says it
                problems.add("Database.close() did not return within 6 s of the network healing; it waits at:"
                        + stackOf(closer) + threadsOfTheLibrary());
                proxy.reset();
                try {
                    closing.get(20, TimeUnit.SECONDS);
                } catch (TimeoutException | ExecutionException ignored) {
                    // recorded above
                }
            }
        }
        for (AutoCloseable resource : resources) {
            resource.close();
        }
        proxy.close();
        if (!problems.isEmpty()) {
            fail(String.join("; ", problems));
        }
    }

    private static String stackOf(Thread t) {
        StringBuilder b = new StringBuilder();
        for (StackTraceElement e : t.getStackTrace()) {
            b.append("\n\tat ").append(e);
        }
        return b.toString();
    }

    /**
     * The stacks of the live platform threads that run the library's, the pool's or the proxy's code, and where a
     * dump of every thread, virtual ones included, was written (jcmd's format, under the working directory).
     */
    private static String threadsOfTheLibrary() {
        StringBuilder b = new StringBuilder();
        try {
            java.nio.file.Path dump = java.nio.file.Path.of("target", "fault-fixture-threads-" + System.nanoTime() + ".txt")
                    .toAbsolutePath();
            java.nio.file.Files.createDirectories(dump.getParent());
            java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class)
                    .dumpThreads(dump.toString(), com.sun.management.HotSpotDiagnosticMXBean.ThreadDumpFormat.TEXT_PLAIN);
            b.append("\n(every thread, virtual ones included: ").append(dump).append(')');
        } catch (java.io.IOException | RuntimeException e) {
            b.append("\n(no dump of every thread: ").append(e).append(')');
        }
        Thread.getAllStackTraces().forEach((t, stack) -> {
            boolean ours = false;
            for (StackTraceElement e : stack) {
                ours |= e.getClassName().startsWith("dev.sqlservice") || e.getClassName().startsWith("com.zaxxer");
            }
            if (ours && !t.getName().equals("fault-fixture-close")) {
                b.append("\n-- ").append(t.getName()).append(" (").append(t.getState()).append(')');
                for (StackTraceElement e : stack) {
                    b.append("\n\tat ").append(e);
                }
            }
        });
        return b.toString();
    }

    /**
     * The failure of {@code f} (unwrapped from {@code ExecutionException} and {@code CompletionException}), or null
     * when it is still running {@code patienceMillis} after {@code start} (nanoTime).
     *
     * @throws AssertionError when {@code f} succeeded
     */
    static Throwable awaitFailure(CompletableFuture<?> f, long start, long patienceMillis) throws Exception {
        long left = TimeUnit.MILLISECONDS.toNanos(patienceMillis) - (System.nanoTime() - start);
        try {
            f.get(Math.max(1, left), TimeUnit.NANOSECONDS);
            throw new AssertionError("succeeded: " + f);
        } catch (TimeoutException e) {
            return null;
        } catch (ExecutionException | CancellationException e) {
            return unwrap(e);
        }
    }

    /**
     * The failure of {@code f} (unwrapped), or null when it succeeded.
     *
     * @throws AssertionError when {@code f} is still running {@code patienceMillis} after {@code start}
     */
    static Throwable awaitOutcome(CompletableFuture<?> f, long start, long patienceMillis) throws Exception {
        long left = TimeUnit.MILLISECONDS.toNanos(patienceMillis) - (System.nanoTime() - start);
        try {
            f.get(Math.max(1, left), TimeUnit.NANOSECONDS);
            return null;
        } catch (TimeoutException e) {
            throw new AssertionError("still running after " + patienceMillis + " ms: " + f);
        } catch (ExecutionException | CancellationException e) {
            return unwrap(e);
        }
    }

    private static Throwable unwrap(Throwable e) {
        Throwable t = e;
        while ((t instanceof ExecutionException || t instanceof CompletionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** Runs {@code work} on a new virtual thread named {@code name}: its result or failure. */
    static <T> CompletableFuture<T> onOwnThread(String name, Callable<T> work) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread.ofVirtual().name(name).start(() -> {
            try {
                result.complete(work.call());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        return result;
    }

    /** Heals the network once {@link #assertEndsWithin} has looked, and waits (at most 10 s) for {@code f} to end. */
    void assertEndsWithinThenHeal(String label, CompletableFuture<?> f, Holder<Long> blackholed, long bound, String why)
            throws Exception {
        try {
            assertEndsWithin(label, f, blackholed, bound, why);
        } finally {
            proxy.heal();
            if (!f.isDone()) {
                proxy.reset();
            }
            awaitTrue(f::isDone, java.time.Duration.ofSeconds(10));
        }
    }

    /**
     * Once {@code f}'s work has blackholed the network (at {@code blackholed}, nanoTime), {@code f} fails within
     * {@code bound} milliseconds of it; fails the test otherwise, or when the network was never blackholed.
     */
    static void assertEndsWithin(String label, CompletableFuture<?> f, Holder<Long> blackholed, long bound, String why)
            throws Exception {
        awaitTrue(() -> blackholed.get() != null || f.isDone(), java.time.Duration.ofSeconds(10));
        if (blackholed.get() == null) {
            Throwable early = f.isCompletedExceptionally() ? awaitFailure(f, System.nanoTime(), 1) : null;
            throw new AssertionError(label + ": the network was never blackholed (" + f + ")", early);
        }
        Throwable failure = awaitFailure(f, blackholed.get(), bound + 3_000);
        org.assertj.core.api.Assertions.assertThat(failure)
                .as("%s: a statement on a dead connection fails (%s)", label, why).isNotNull();
        org.assertj.core.api.Assertions.assertThat(millisSince(blackholed.get()))
                .as("%s: ended within %d ms of the blackhole (%s)", label, bound, failure.toString())
                .isLessThanOrEqualTo(bound);
    }

    /** Whether {@code condition} held within {@code within} (checked every 10 ms). */
    static boolean awaitTrue(java.util.function.BooleanSupplier condition, java.time.Duration within)
            throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(10);
        }
        return true;
    }

    /** The first SQLState in {@code t}'s causes (a driver's, or a DataAccessException of the library's own). */
    static String sqlState(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof java.sql.SQLException s && s.getSQLState() != null) {
                return s.getSQLState();
            }
            if (c instanceof org.jooq.exception.DataAccessException d && d.sqlState() != null
                    && !d.sqlState().isEmpty() && d.getCause() == null) {
                return d.sqlState();
            }
        }
        return null;
    }

    /** A private field of one of the library's objects, for the review tests' checks of its state. */
    static Object field(Object target, String name) {
        try {
            java.lang.reflect.Field f = target.getClass().getDeclaredField(name);
            f.setAccessible(true);
            return f.get(target);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("no field " + name + " in " + target.getClass(), e);
        }
    }

    /** The value {@code read} returns, or the innermost cause of its failure (its class and message). */
    static Object outcome(java.util.function.Supplier<?> read) {
        try {
            return read.get();
        } catch (RuntimeException e) {
            Throwable cause = e;
            while (cause.getCause() != null) {
                cause = cause.getCause();
            }
            return "failed: " + cause;
        }
    }

    static long millisSince(long start) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    }

    /** A value one thread sets and another reads. */
    static final class Holder<T> {
        private volatile T value;

        T get() {
            return value;
        }

        void set(T value) {
            this.value = value;
        }
    }
}
