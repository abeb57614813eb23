package dev.sqlservice;

import java.time.Duration;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The default executor of {@link AsyncSession} calls: one FIFO queue, drained by at most {@code workers} virtual
 * threads (the pool size), started when calls arrive and ended when the queue is empty.
 *
 * <p>Why not a virtual thread per call: a call can only run while it holds one of the pool's connections, so
 * 10,000 calls issued at once would be 10,000 threads parked on the connection semaphore, each woken in turn;
 * that parking and waking cost more client CPU than the queries (measured: plain JDBC on a thread per query had
 * 0.62× the throughput of 10 platform threads). Here a worker that finishes a call takes the next one at once,
 * and a call waits in the queue as a plain object. The waiting keeps its limit: a {@link Job} still queued when
 * {@code acquisitionTimeout} has passed is expired (a sweep on the database's timer, and a check when a worker
 * takes it), exactly as if it had waited that long for a connection.
 */
final class Dispatcher implements Executor, AutoCloseable {

    /**
     * A queued call, in two steps: {@link #work} runs it and keeps its outcome, then {@link #finish} or
     * {@link #finishElsewhere} completes its stage with that outcome, which runs the callbacks attached to the
     * stage. Callbacks that block (even on other calls) must never hold one of the few workers: a worker either
     * gives its place up before {@code finish()} (when no call waits for it), or has the stage completed on
     * another thread ({@code finishElsewhere()}, when calls wait). Any other executor runs {@code work()} and
     * {@code finish()} in {@link #run}.
     */
    abstract static class Job implements Runnable {
        private final long queuedAt = System.nanoTime();

        abstract void work();

        /** Completes the stage on this thread. */
        abstract void finish();

        /** Completes the stage on a new virtual thread if callbacks wait on it, on this thread otherwise. */
        abstract void finishElsewhere();

        /** Fails the call: it waited longer than the acquisition timeout. Runs on a worker or the timer thread. */
        abstract void expire();

        /** Fails the call: the database was closed before it started. Runs on the thread closing the database. */
        abstract void reject();

        @Override
        public final void run() {
            work();
            finish();
        }
    }

    private final ConcurrentLinkedQueue<Runnable> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger workers = new AtomicInteger();
    private final int maxWorkers;
    private final long timeoutNanos;
    private final ThreadFactory factory;
    private final ScheduledFuture<?> sweep;
    private final Object idle = new Object();
    private static final ThreadLocal<Boolean> onWorker = new ThreadLocal<>();
    private volatile boolean closed;

    Dispatcher(int maxWorkers, Duration acquisitionTimeout, ScheduledExecutorService timer, ThreadFactory factory) {
        this.maxWorkers = maxWorkers;
        this.timeoutNanos = acquisitionTimeout.toNanos();
        this.factory = factory;
        long period = Math.clamp(timeoutNanos / 8, TimeUnit.MILLISECONDS.toNanos(5), TimeUnit.SECONDS.toNanos(1));
        this.sweep = timer.scheduleWithFixedDelay(this::expireOverdue, period, period, TimeUnit.NANOSECONDS);
    }

    /** Whether the current thread holds one of a dispatcher's worker places (callbacks must never run there). */
    static boolean isWorkerThread() {
        return Boolean.TRUE.equals(onWorker.get());
    }

    @Override
    public void execute(Runnable task) {
        if (closed) {
            throw new RejectedExecutionException("the Database is closed");
        }
        queue.add(task);
        startWorkerIfBelowLimit();
    }

    private void startWorkerIfBelowLimit() {
        for (int n = workers.get(); n < maxWorkers; n = workers.get()) {
            if (workers.compareAndSet(n, n + 1)) {
                try {
                    factory.newThread(this::work).start();
                } catch (RuntimeException | Error e) {
                    workers.decrementAndGet();
                    throw e;
                }
                return;
            }
        }
    }

    private void work() {
        boolean holding = true;
        onWorker.set(Boolean.TRUE);
        try {
            while (holding) {
                Runnable task = queue.poll();
                if (task == null) {
                    workers.decrementAndGet();
                    // A call queued between the poll and the decrement may have seen every worker busy and
                    // started none: take it on, unless another worker has.
                    holding = !queue.isEmpty() && rejoin();
                    onWorker.set(holding ? Boolean.TRUE : null);
                    continue;
                }
                // A call must not inherit an interrupt left by the previous one (it would fail at once in the
                // connection semaphore).
                Thread.interrupted();
                try {
                    if (task instanceof Job job) {
                        boolean expired = overdue(job, System.nanoTime());
                        if (!expired) {
                            job.work();
                        }
                        if (expired) {
                            job.expire();
                        } else if (!queue.isEmpty()) {
                            // Calls are waiting for this worker: the stage's callbacks, if any, run elsewhere.
                            job.finishElsewhere();
                        } else {
                            // Nobody waits: give the worker's place up and run the callbacks here.
                            workers.decrementAndGet();
                            holding = false;
                            onWorker.remove();
                            job.finish();
                            holding = !queue.isEmpty() && rejoin();
                        }
                    } else {
                        task.run();
                    }
                } catch (Throwable t) {
                    // Jobs complete their own stages; whatever escapes one must not cost the queue its worker.
                    Thread.currentThread().getUncaughtExceptionHandler().uncaughtException(Thread.currentThread(), t);
                }
                onWorker.set(holding ? Boolean.TRUE : null);
            }
        } finally {
            if (holding) {
                workers.decrementAndGet();
            }
            onWorker.remove();
            synchronized (idle) {
                idle.notifyAll();
            }
        }
    }

    private boolean rejoin() {
        for (int n = workers.get(); n < maxWorkers; n = workers.get()) {
            if (workers.compareAndSet(n, n + 1)) {
                return true;
            }
        }
        return false;
    }

    private boolean overdue(Job job, long now) {
        return now - job.queuedAt > timeoutNanos;
    }

    /** The queue is FIFO and every job has the same limit, so the overdue ones are at its head. */
    private void expireOverdue() {
        long now = System.nanoTime();
        Runnable head;
        while ((head = queue.peek()) instanceof Job job && overdue(job, now)) {
            if (queue.remove(head)) {
                job.expire();
            }
        }
    }

    /**
     * Rejects new calls, fails the queued ones ({@link Job#reject}), then waits until the running calls have
     * finished (all but the caller's own, when a call closes the database), for at most the acquisition timeout:
     * a call stuck longer must not keep the database from closing.
     */
    @Override
    public void close() {
        closed = true;
        Runnable queued;
        while ((queued = queue.poll()) != null) {
            if (queued instanceof Job job) {
                job.reject();
            }
        }
        int self = Boolean.TRUE.equals(onWorker.get()) ? 1 : 0;
        boolean interrupted = false;
        long deadline = System.nanoTime() + timeoutNanos;
        synchronized (idle) {
            while (workers.get() > self && System.nanoTime() - deadline < 0) {
                try {
                    idle.wait(Math.max(1, Math.min(100, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()))));
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        sweep.cancel(false);
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
