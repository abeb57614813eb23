package dev.sqlservice;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A connection of a database held by a transaction on a platform thread of its own until {@link #close()}: with a
 * {@code poolSize(1)} database, every call started meanwhile waits for its connection (the review tests' one home
 * for it, instead of a copy per test).
 */
final class HeldConnection implements AutoCloseable {

    private final CountDownLatch release = new CountDownLatch(1);
    private final Thread holder;

    private HeldConnection(Database db) throws InterruptedException {
        CountDownLatch holding = new CountDownLatch(1);
        holder = Thread.ofPlatform().name("held-connection").start(() -> db.blockingSession().transaction(tx -> {
            holding.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return null;
        }));
        if (!holding.await(10, TimeUnit.SECONDS)) {
            release.countDown();
            throw new AssertionError("the holder's transaction did not start within 10 s");
        }
    }

    /** Holds one of {@code db}'s connections (its transaction has started when this returns). */
    static HeldConnection of(Database db) throws InterruptedException {
        return new HeldConnection(db);
    }

    /** Ends the holder's transaction and waits (at most 20 s) for its thread to end. */
    @Override
    public void close() throws InterruptedException {
        release.countDown();
        holder.join(20_000);
        if (holder.isAlive()) {
            throw new AssertionError("the holder's transaction did not end within 20 s of its release");
        }
    }
}
