package dev.sqlservice.testing;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * The migrated databases of one server and set of migrations. A test class leases one for as long as it runs and
 * gives it back when it ends; a class that starts while all are leased (JUnit's parallel mode) gets a newly
 * migrated one. Sequential runs so use exactly one. Thread-safe.
 */
final class DatabasePool {

    private final Server server;
    private final List<String> migrations;
    private final TestServers servers;
    private final Deque<TestDatabase> idle = new ArrayDeque<>();
    private final List<TestDatabase> all = new ArrayList<>();
    private boolean closed;
    private int retired;

    DatabasePool(Server server, List<String> migrations, TestServers servers) {
        this.server = server;
        this.migrations = migrations;
        this.servers = servers;
    }

    /** An idle migrated database, or a new one. */
    TestDatabase lease() {
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("the test run has ended");
            }
            TestDatabase database = idle.pollFirst();
            if (database != null) {
                return database;
            }
        }
        TestDatabase database = TestDatabase.create(server, migrations, servers);
        synchronized (this) {
            all.add(database);
        }
        return database;
    }

    synchronized void release(TestDatabase database) {
        if (!closed) {
            idle.addFirst(database);
        }
    }

    /**
     * Takes a leased database out of the pool for good, closes its {@code Database} (aborting borrowed
     * connections) and drops it.
     */
    void retire(TestDatabase database) {
        synchronized (this) {
            if (!all.remove(database)) {
                return; // the run has ended: close() dropped it
            }
            retired++;
        }
        database.close();
    }

    /** How many databases the pool made, retired ones included. */
    synchronized int size() {
        return all.size() + retired;
    }

    /** Drops every database of the pool. */
    void close() {
        List<TestDatabase> databases;
        synchronized (this) {
            closed = true;
            databases = List.copyOf(all);
            all.clear();
            idle.clear();
        }
        RuntimeException failure = null;
        for (TestDatabase database : databases) {
            try {
                database.close();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }
}
